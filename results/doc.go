// Package results is the second half of kharness's pipeline: what becomes
// of the stream a guest writes. It holds no code; its packages are the
// stages, each importing only those before it:
//
//   - wire: the guest-host contract (stream header and end marker, unit
//     and key names), imported by the guest too.
//   - stream: parsing and checking a boot's stream, the exact instruction
//     counts and profiles paired with it, and the validators every
//     reader of stored data applies.
//   - store: run directories: records, atomic writes, the lock, loading
//     committed boots and reading a stored boot.bench back.
//   - stats: the judging: per-boot medians under the host guard,
//     Mann-Whitney calls, exact-count calls, the seed, fidelity and
//     2002 tables' numbers.
//   - show: text, CSV, JSON, the HTML report and the seed, fidelity and
//     2002 tables.
package results
