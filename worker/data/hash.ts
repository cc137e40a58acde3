/**
 * sha256 hex of a UTF-8 string (WebCrypto; runs in workerd and Node 20).
 *
 * @example
 * await sha256Hex('sk-demo'); // '5c2c...'
 */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
