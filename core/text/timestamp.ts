// An RFC 3339 time in UTC as Sentinel writes them (Date#toISOString, up to nanoseconds): the decision log's
// timestamps, which the forwarder reads back, and the CLI's paging cursors.
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
