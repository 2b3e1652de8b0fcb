// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell and YAML text where ${VAR} is literal
import { describe, expect, it } from 'vitest';
import { classify, findDockerRuns, parseDockerRun } from '../../src/recipe/classify.js';
import { simpleCommands, tokenize } from '../../src/recipe/shell-words.js';

const words = (s: string) => tokenize(s).flatMap((t) => (t.type === 'word' ? [t.value] : []));

describe('tokenize', () => {
  it('removes quotes and keeps expansions as written', () => {
    expect(words(`echo "a b" 'c d' e\\ f "x$(uname -m)" \${HOME}/y`)).toEqual([
      'echo',
      'a b',
      'c d',
      'e f',
      'x$(uname -m)',
      '${HOME}/y',
    ]);
  });

  it("joins '\\'' inside single quotes into one word", () => {
    expect(words(`printf '%s\\n' 'it'\\''s'`)).toEqual(['printf', '%s\\n', "it's"]);
  });

  it('keeps nested $( ) with quotes and parens as one word', () => {
    expect(words(`x="$(echo "$(date +%s)" | tr -d ')')" y`)).toEqual([
      `x=$(echo "$(date +%s)" | tr -d ')')`,
      'y',
    ]);
  });

  it('only escapes \\" \\\\ \\$ \\` inside double quotes', () => {
    expect(words(`"a\\"b\\nc\\$d"`)).toEqual(['a"b\\nc$d']);
  });

  it('treats # as a comment only at the start of a word', () => {
    expect(words('echo a#b # comment here\necho c')).toEqual(['echo', 'a#b', 'echo', 'c']);
  });

  it('joins backslash-newline continuations and counts lines', () => {
    const toks = tokenize('a \\\n  b\nc');
    expect(toks.filter((t) => t.type === 'word').map((t) => [t.type === 'word' && t.value, t.line])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('skips here-document bodies', () => {
    const cmds = simpleCommands('cat <<EOF > f\ndocker run evil/image\nEOF\necho done\n');
    expect(cmds.map((c) => c.words)).toEqual([['cat'], ['echo', 'done']]);
  });

  it('does not throw on unterminated quotes', () => {
    expect(words(`echo "abc`)).toEqual(['echo', 'abc']);
    expect(words(`echo 'abc`)).toEqual(['echo', 'abc']);
    expect(words('echo $(abc')).toEqual(['echo', '$(abc']);
  });
});

describe('simpleCommands', () => {
  it('splits on operators and drops redirections with their targets', () => {
    const cmds = simpleCommands('a 2>/dev/null && b >out; c | d &>/dev/null\nif e; then f; fi');
    expect(cmds.map((c) => c.words)).toEqual([['a'], ['b'], ['c'], ['d'], ['e'], ['f']]);
  });

  it('handles fd duplication 2>&1 and case patterns', () => {
    const cmds = simpleCommands('x 2>&1 y\ncase "$A" in\n  x86_64) A=amd64 ;;\nesac');
    expect(cmds.map((c) => c.words)).toEqual([
      ['x', 'y'],
      ['case', '$A', 'in'],
      ['x86_64'],
      ['A=amd64'],
      ['esac'],
    ]);
  });
});

describe('parseDockerRun', () => {
  const run = (s: string) => findDockerRuns(s).map((r) => r.image);

  it('finds the image after options with values, across continuations', () => {
    const script = [
      'mkdir -pv "${SBUILD_TMPDIR}/tmp" && docker run --privileged --net="host" --name "alpine-builder" --pull="always" \\',
      ' -e "PKG=${PKG}" -e "PKG_ID=${PKG_ID}" \\',
      ' --volume "${SBUILD_TMPDIR}/tmp:/tmp:rw" \\',
      ' "ghcr.io/pkgforge/devscripts/alpine-builder:$(uname -m)" \\',
      "  bash -l -c '",
      '   docker run not/this-one',
      "  '",
    ].join('\n');
    const runs = findDockerRuns(script);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      image: 'ghcr.io/pkgforge/devscripts/alpine-builder:$(uname -m)',
      name: 'alpine-builder',
      line: 1,
    });
    expect(runs[0]!.command.slice(0, 3)).toEqual(['bash', '-l', '-c']);
  });

  it.each([
    ['docker run img', 'img'],
    ['sudo docker run --rm img:1', 'img:1'],
    ['sudo -E -u root docker run img', 'img'],
    ['docker container run -it img', 'img'],
    ['/usr/bin/docker run img', 'img'],
    ['docker --context x run --name n -w /src --entrypoint /bin/sh img -c ls', 'img'],
    ['docker run --platform linux/arm64 -v a:b -e K=V --net=host --pull=always img', 'img'],
    ['docker run -eK=V -vA:B -itd img', 'img'],
    ['docker run -it -e K=V img', 'img'],
    ['FOO=1 docker run img', 'img'],
    ['timeout 3600 docker run img', 'img'],
    ['docker run -- img', 'img'],
    ['if docker run img; then :; fi', 'img'],
  ])('%s', (script, image) => {
    expect(run(script)).toEqual([image]);
  });

  it('looks inside command substitutions', () => {
    expect(run('CID="$(sudo docker run -d --name b img:1 sleep 9)"\necho `docker run img:2`')).toEqual([
      'img:1',
      'img:2',
    ]);
    expect(run("echo '$(docker run not/me)'")).toEqual([]);
    expect(run(`echo "it's $(docker run img:3)"`)).toEqual(['img:3']);
  });

  it('records --platform', () => {
    expect(findDockerRuns('docker run --platform=linux/amd64 img')[0]?.platform).toBe('linux/amd64');
  });

  it.each([
    '# docker run --name x commented/out',
    'echo docker run img',
    'docker cp alpine-builder:/build-bins/. out/',
    'docker stop "alpine-builder" >/dev/null 2>&1 ; docker rm "alpine-builder"',
    'docker run --rm',
    'docker pull img',
  ])('is not a docker run: %s', (script) => {
    expect(run(script)).toEqual([]);
  });

  it('parseDockerRun returns undefined for other commands', () => {
    expect(parseDockerRun(['docker', 'build', '.'], 1)).toBeUndefined();
    expect(parseDockerRun(['podman', 'run', 'x'], 1)).toBeUndefined();
  });
});

describe('classify', () => {
  it('container wins and its image is listed after docker-run images, deduplicated', () => {
    expect(classify({ run: 'docker run a\ndocker run a\ndocker run b', container: 'c' })).toMatchObject({
      mode: 'container',
      images: ['a', 'b', 'c'],
    });
  });

  it('bsys docker:// makes a recipe docker-run even without a visible docker run', () => {
    expect(classify({ run: 'make', bsys: 'docker://go' })).toMatchObject({ mode: 'docker-run', images: [] });
    expect(classify({ run: 'soar dl x', bsys: 'host://soar-dl' })).toMatchObject({
      mode: 'host',
      images: [],
    });
    expect(classify({ run: 'echo hi' })).toMatchObject({ mode: 'host', images: [] });
  });
});
