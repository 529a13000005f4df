/** Names the cache uses for its own files inside an entry. */
export const RESERVED_OUTPUT_NAMES = ['manifest', 'COMPLETE'];
