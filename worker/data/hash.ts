/**
 * sha256 hex of a UTF-8 string or of bytes (WebCrypto; runs in workerd and Node 20).
 *
 * @example
 * await sha256Hex('sk-demo'); // '5c2c...'
 * await sha256Hex(await obj.arrayBuffer()); // a bundle file's digest, as its manifest lists it
 */
export async function sha256Hex(data: string | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    typeof data === 'string' ? new TextEncoder().encode(data) : data,
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
