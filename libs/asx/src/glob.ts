const GLOB_CHARS = /[*?[\]{}]/;

export function hasGlob(p: string): boolean {
  return GLOB_CHARS.test(p);
}

/**
 * Splits "data/asx/*\/trades/*.csv" into the part without glob characters ("data/asx") and the pattern below it
 * ("*\/trades/*.csv"), so listing starts from the deepest fixed directory (or S3 prefix).
 */
export function globBase(p: string): { base: string; pattern: string } {
  const parts = p.split('/');
  const i = parts.findIndex((s) => hasGlob(s));
  if (i < 0) return { base: p, pattern: '' };
  return { base: parts.slice(0, i).join('/'), pattern: parts.slice(i).join('/') };
}

/**
 * Shell-style glob to an anchored RegExp over '/'-separated paths: `*` and `?` stay within one segment, `**`
 * spans segments, `[abc]`/`[!abc]` are classes and `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let inClass = false;
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (inClass) {
      if (c === ']') {
        inClass = false;
        re += ']';
      } else {
        re += c === '\\' ? '\\\\' : c;
      }
      continue;
    }
    switch (c) {
      case '*':
        if (glob[i + 1] === '*') {
          const slash = glob[i + 2] === '/';
          re += slash ? '(?:.*/)?' : '.*';
          i += slash ? 2 : 1;
        } else {
          re += '[^/]*';
        }
        break;
      case '?':
        re += '[^/]';
        break;
      case '[':
        inClass = true;
        re += '[';
        if (glob[i + 1] === '!') {
          re += '^';
          i++;
        }
        break;
      case '{':
        braces++;
        re += '(?:';
        break;
      case '}':
        if (braces > 0) {
          braces--;
          re += ')';
        } else {
          re += '\\}';
        }
        break;
      case ',':
        re += braces > 0 ? '|' : ',';
        break;
      default:
        re += c.replace(/[.+^$()|\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}
