// One place for the version strings that srvr / stat / mntr / envi report. Monitoring tools parse
// "Zookeeper version: X.Y.Z-..." to pick protocol features, so the ZooKeeper release whose client
// protocol Ark speaks comes first.
export const ARK_VERSION = '0.1.0';
export const ZK_COMPAT_VERSION = '3.9.5';
export const BUILD_DATE = '2026-11-25 00:00 UTC';
export const VERSION_STRING = `${ZK_COMPAT_VERSION}-ark-${ARK_VERSION}, built on ${BUILD_DATE}`;
