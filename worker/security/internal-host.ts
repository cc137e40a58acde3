/**
 * Which hosts are not public: IP literals in loopback, link-local, private, shared (CGNAT),
 * unspecified, multicast, reserved or IPv4-embedding IPv6 ranges, and names that resolve on the
 * local machine or network (`localhost`, `*.localhost`, `*.internal`, `*.local`, single labels).
 * A tenant's model may call such a host only when the operator allowed it (`allow_private`).
 *
 * The input is a WHATWG URL's `hostname`: the URL parser has already turned every IPv4 spelling
 * (`127.1`, `2130706433`, `0x7f000001`, `017700000001`) into a dotted quad and every IPv6 into its
 * compressed lower-case form, so only canonical forms need classifying here.
 */

/** [first address, prefix length, what it is] */
const IPV4_RANGES: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (CGNAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'a reserved address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a reserved (benchmarking) address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];

/** [first address as eight 16-bit groups, prefix length, what it is]; checked in order. */
const IPV6_RANGES: ReadonlyArray<readonly [readonly number[], number, string]> = [
  [[0, 0, 0, 0, 0, 0, 0, 0], 128, 'the unspecified address'],
  [[0, 0, 0, 0, 0, 0, 0, 1], 128, 'a loopback address'],
  [[0, 0, 0, 0, 0, 0xffff, 0, 0], 96, 'an IPv4-mapped address'],
  [[0, 0, 0, 0, 0, 0, 0, 0], 96, 'an IPv4-compatible address'],
  [[0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, 'a NAT64 address'],
  [[0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, 'a NAT64 address'],
  [[0x100, 0, 0, 0, 0, 0, 0, 0], 64, 'a discard-only address'],
  [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, 'a documentation address'],
  [[0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, 'a unique local (private) address'],
  [[0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, 'a link-local address'],
  [[0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, 'a site-local address'],
  [[0xff00, 0, 0, 0, 0, 0, 0, 0], 8, 'a multicast address'],
];

/** Name suffixes that never resolve to a public host (RFC 6761, 6762, 8375, and cloud metadata names). */
const INTERNAL_SUFFIXES = ['.localhost', '.internal', '.local', '.localdomain', '.home.arpa'];

/** A dotted-quad IPv4 address as an unsigned 32-bit number, or null. */
function ipv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255))
    return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** Eight 16-bit groups of an IPv6 address (`::` and a trailing dotted quad allowed), or null. */
function ipv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      const v4 = g.includes('.') ? ipv4(g) : null;
      if (v4 !== null) out.push(v4 >>> 16, v4 & 0xffff);
      else if (/^[0-9a-f]{1,4}$/i.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  return fill >= 1 ? [...head, ...new Array<number>(fill).fill(0), ...tail] : null;
}

function inIpv6Range(addr: readonly number[], base: readonly number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit += 16) {
    const i = bit / 16;
    const bits = Math.min(16, prefix - bit);
    const mask = (0xffff << (16 - bits)) & 0xffff;
    if ((addr[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

/**
 * What makes `hostname` a non-public target (a short phrase for error messages), or null when it
 * is a public name or address.
 *
 * @example
 * internalHost(new URL('http://2130706433/').hostname); // 'a loopback address'
 * internalHost('metadata.google.internal');              // 'an internal name'
 * internalHost('api.openai.com');                        // null
 */
export function internalHost(hostname: string): string | null {
  const host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) {
    const addr = ipv6(host.slice(1, -1));
    if (!addr) return 'an unparsable IPv6 address';
    const hit = IPV6_RANGES.find(([base, prefix]) => inIpv6Range(addr, base, prefix));
    return hit ? hit[2] : null;
  }
  const v4 = ipv4(host);
  if (v4 !== null) {
    const hit = IPV4_RANGES.find(([base, prefix]) => {
      const size = 2 ** (32 - prefix);
      return Math.floor(v4 / size) === Math.floor(ipv4(base)! / size);
    });
    return hit ? hit[2] : null;
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name === 'localhost' || INTERNAL_SUFFIXES.some((s) => name.endsWith(s)))
    return 'an internal name';
  // A single label ("metadata", "intranet") is completed by the local resolver's search domains.
  if (!name.includes('.')) return 'a single-label name';
  return null;
}
