/**
 * A fake Hugging Face hub behind `fetch`, for download tests: the endpoints @huggingface/hub calls
 * for modelInfo (/api/models/REPO/revision/REV), paths-info (/api/models/REPO/paths-info/COMMIT)
 * and file downloads (/REPO/resolve/COMMIT/PATH, with the 1-byte range probe of
 * downloadFileToCacheDir). `calls` records each request as "METHOD /decoded/path".
 */
import * as crypto from 'node:crypto';

export function fakeHub(repoId: string, commit: string, files: Record<string, Uint8Array>) {
  const calls: string[] = [];
  const oid = (bytes: Uint8Array) => crypto.createHash('sha1').update(bytes).digest('hex');
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push(`${init?.method ?? 'GET'} ${decodeURIComponent(url.pathname)}`);
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
    if (url.pathname.startsWith(`/api/models/${repoId}/revision/`)) {
      return json({ _id: 'x', id: repoId, sha: commit, siblings: Object.keys(files).map((rfilename) => ({ rfilename })), lastModified: '2024-01-01T00:00:00Z' });
    }
    if (url.pathname.startsWith(`/api/models/${repoId}/paths-info/`)) {
      const { paths } = JSON.parse(String(init?.body)) as { paths: string[] };
      return json(paths.map((p) => ({ path: p, type: 'file', oid: oid(files[p]), size: files[p].length, lastCommit: { id: commit, title: 't', date: '2024-01-01T00:00:00Z' } })));
    }
    const prefix = `/${repoId}/resolve/${commit}/`;
    if (url.pathname.startsWith(prefix)) {
      const bytes = files[decodeURIComponent(url.pathname.slice(prefix.length))];
      if (!bytes) return new Response('', { status: 404, headers: { 'X-Error-Code': 'EntryNotFound' } });
      const headers = new Headers(init?.headers);
      if (headers.get('Range') === 'bytes=0-0') {
        return new Response(bytes.subarray(0, 1), { status: 206, headers: { 'Content-Range': `bytes 0-0/${bytes.length}`, ETag: `"${oid(bytes)}"` } });
      }
      return new Response(bytes, { status: 200 });
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  return { fetchImpl, calls };
}

