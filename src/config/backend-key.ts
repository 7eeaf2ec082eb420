// The identity of a backend across reloads, health tables, snapshots and
// worker counters: its pool's name plus its id (ids are unique within a pool,
// not across pools). One spelling, so maps built in different modules agree.

/**
 * "pool/id". Unambiguous because a pool name never contains "/" (schema NAME);
 * the id may (it defaults to "host:port"), so split at the FIRST "/".
 */
export function backendKey(pool: string, id: string): string {
  return `${pool}/${id}`
}
