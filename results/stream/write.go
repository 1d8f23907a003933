package stream

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// WriteBench writes s to w as a clean benchfmt file: the extra (host-side)
// config lines first, then s.Config, a blank line, the comments as "# "
// lines, then the Benchmark lines, without the stream header and end
// marker. golang.org/x/perf/benchfmt reads it back to the same results,
// each carrying extra and s.Config as file config. Config with an empty
// value is left out, since benchfmt cannot represent it ("key:" deletes
// key). WriteBench validates everything it writes and writes nothing if any
// string is invalid, an extra key is repeated, or a key appears in both
// extra and s.Config (the guest may not override host facts).
func (s *Stream) WriteBench(w io.Writer, extra []KV) error {
	var b bytes.Buffer
	seen := make(map[string]string)
	writeKV := func(kv KV, where string) error {
		if err := ValidConfigKey(kv.Key); err != nil {
			return fmt.Errorf("write bench: %s: %w", where, err)
		}
		if err := ValidConfigValue(kv.Value); err != nil {
			return fmt.Errorf("write bench: %s: %w", where, err)
		}
		if kv.Key == streamHeaderKey {
			return fmt.Errorf("write bench: %s: reserved config key %q", where, kv.Key)
		}
		if prev, dup := seen[kv.Key]; dup {
			return fmt.Errorf("write bench: %s: config key %q already set by %s", where, kv.Key, prev)
		}
		seen[kv.Key] = where
		if kv.Value != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv.Key, kv.Value)
		}
		return nil
	}
	for i, kv := range extra {
		if err := writeKV(kv, fmt.Sprintf("extra config %d", i+1)); err != nil {
			return err
		}
	}
	for i, kv := range s.Config {
		if err := writeKV(kv, fmt.Sprintf("stream config %d", i+1)); err != nil {
			return err
		}
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	for i, c := range s.Comments {
		if err := validCommentText(c); err != nil {
			return fmt.Errorf("write bench: comment %d: %w", i+1, err)
		}
		fmt.Fprintf(&b, "# %s\n", c)
	}
	for i, r := range s.Results {
		if err := ValidName(r.Name); err != nil {
			return fmt.Errorf("write bench: result %d: %w", i+1, err)
		}
		if r.Iters <= 0 {
			return fmt.Errorf("write bench: result %d (%s): iteration count %d is not positive", i+1, r.Name, r.Iters)
		}
		if len(r.Values) == 0 {
			return fmt.Errorf("write bench: result %d (%s): no values", i+1, r.Name)
		}
		fmt.Fprintf(&b, "Benchmark%s %d", r.Name, r.Iters)
		for _, v := range r.Values {
			if err := ValidUnit(v.Unit); err != nil {
				return fmt.Errorf("write bench: result %d (%s): %w", i+1, r.Name, err)
			}
			if err := ValidValue(v.Value, v.Unit); err != nil {
				return fmt.Errorf("write bench: result %d (%s): %w", i+1, r.Name, err)
			}
			fmt.Fprintf(&b, " %s %s", strconv.FormatFloat(v.Value, 'g', -1, 64), v.Unit)
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}
