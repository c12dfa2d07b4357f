/** Addresses only this machine can reach: `localhost`, 127.0.0.0/8 and ::1 (bracketed or not). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
