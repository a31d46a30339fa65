// Formatting shared by pages (client and server).

/** Cents as dollars: 1500 → "$15.00". */
export const price = (cents: number) => `$${(cents / 100).toFixed(2)}`;
