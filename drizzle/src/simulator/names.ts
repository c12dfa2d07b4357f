// Whitespace-separated so the formatter does not spread forty names over forty lines.
const firstNames = words(`
  Alice Bob Chiara David Emma Farid Grace Hiro Ines Jonas
  Kemi Liam Maya Noah Olga Pablo Quinn Rosa Sven Tara`);
const lastNames = words(`
  Martin Nguyen Rossi Okafor Schulz Haddad Kim Tanaka Silva Berg
  Adeyemi Walsh Patel Fischer Ivanova Garcia Moreau Costa Larsen Singh`);

function words(text: string): string[] {
  return text.trim().split(/\s+/);
}

export const productNames: readonly string[] = [
  'Espresso machine, Coffee grinder, Mechanical keyboard, USB-C dock, Trail running shoes, Hydration vest',
  'Noise-cancelling headphones, Cast iron skillet, Chef knife, Standing desk, E-reader, Reading lamp',
  'Yoga mat, Backpack, Wool sweater, Desk chair, Monitor arm, French press, Bluetooth speaker, Rain jacket',
].flatMap((line) => line.split(', '));

/** `count` distinct, stable customer names ("Alice Martin", "Bob Martin", …). */
export function customerNames(count: number): string[] {
  const names: string[] = [];
  const combos = firstNames.length * lastNames.length;
  for (let i = 0; i < count; i++) {
    const first = firstNames[i % firstNames.length];
    const last = lastNames[Math.floor(i / firstNames.length) % lastNames.length];
    const round = Math.floor(i / combos);
    names.push(round === 0 ? `${first} ${last}` : `${first} ${last} ${round + 1}`);
  }
  return names;
}

export function pick<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick() needs a non-empty list');
  return item;
}
