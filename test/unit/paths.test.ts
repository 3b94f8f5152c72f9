import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pathProblem, validatePath } from '../../src/server/paths.js';
import { ErrorCode, KeeperError } from '../../src/util/errors.js';

function rejected(path: string): void {
  assert.notEqual(pathProblem(path), null, `${JSON.stringify(path)} should be rejected`);
  assert.throws(
    () => validatePath(path),
    (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.BadArguments && e.path === path,
  );
}
function accepted(path: string): void {
  assert.equal(pathProblem(path), null, `${JSON.stringify(path)} should be accepted`);
  assert.doesNotThrow(() => validatePath(path));
}

describe('validatePath (PathUtils.validatePath)', () => {
  test('root_and_ordinary_paths_are_accepted', () => {
    for (const p of ['/', '/a', '/a/b/c', '/zookeeper/quota', '/a b', '/a-b_c', '/0000000001', '/ß水', '/\u00a0', '/\uf900', '/\uffef'])
      accepted(p);
  });

  test('dots_inside_names_are_fine', () => {
    for (const p of ['/a.b', '/.a', '/a.', '/..a', '/a..', '/...', '/a/.b/c', '/a/b../c']) accepted(p);
  });

  test('empty_path_is_rejected', () => {
    rejected('');
    assert.match(pathProblem('') ?? '', /length/);
  });

  test('path_without_leading_slash_is_rejected', () => {
    for (const p of ['a', 'a/b', ' /a', '.']) rejected(p);
  });

  test('trailing_slash_is_rejected', () => {
    for (const p of ['/a/', '/a/b/', '//']) rejected(p);
  });

  test('empty_node_names_are_rejected', () => {
    for (const p of ['//a', '/a//b', '/a///b']) rejected(p);
  });

  test('relative_segments_are_rejected', () => {
    for (const p of ['/.', '/..', '/a/.', '/a/..', '/./a', '/../a', '/a/./b', '/a/../b']) rejected(p);
  });

  test('null_character_is_rejected', () => {
    rejected('/a\u0000b');
    assert.match(pathProblem('/a\u0000b') ?? '', /null/);
  });

  test('control_characters_are_rejected', () => {
    for (const c of ['\u0001', '\u0009', '\u001f', '\u007f', '\u0080', '\u009f']) rejected(`/a${c}b`);
    accepted('/a\u0020b');
    accepted('/a\u00a0b');
  });

  test('surrogate_code_units_and_private_use_are_rejected', () => {
    // ZooKeeper rejects \ud800-\uf8ff, which includes both halves of any surrogate pair
    for (const c of ['\ud800', '\udbff', '\udc00', '\udfff', '\ue000', '\uf8ff']) rejected(`/x${c}`);
    rejected('/emoji\u{1F004}');
  });

  test('specials_at_the_end_of_the_bmp_are_rejected', () => {
    for (const c of ['\ufff0', '\ufffd', '\uffff']) rejected(`/x${c}`);
  });
});

/** The rules written the plain way (split, then scan): the one-pass pathProblem must agree on every path. */
function referencePathProblem(path: string): string | null {
  if (path.length === 0) return 'path length must be > 0';
  if (path[0] !== '/') return 'path must start with / character';
  if (path.length === 1) return null;
  if (path[path.length - 1] === '/') return 'path must not end with / character';
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.length === 0) return `empty node name specified @${i}`;
    if (parts[i] === '.' || parts[i] === '..') return `relative paths not allowed @${i}`;
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) return `invalid character @${i}`;
  }
  return null;
}

test('one-pass path validation agrees with the plain rules on 50,000 random paths', () => {
  const alphabet = ['/', '/', '/', 'a', 'b', '.', '.', '\0', '\u0001', '\u007f', '\ud800', '\ufff0', 'é', '0'];
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (let k = 0; k < 50_000; k++) {
    let p = next(4) === 0 ? '' : '/';
    const len = next(9);
    for (let i = 0; i < len; i++) p += alphabet[next(alphabet.length)];
    assert.equal(pathProblem(p), referencePathProblem(p), JSON.stringify(p));
  }
});
