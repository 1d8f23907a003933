package results

import (
	"fmt"
	"regexp"
	"sort"
)

// BootSamples returns the per-boot medians of one benchmark across every ok
// boot in dirs: the boot is the unit of replication, so these are the
// numbers a test between two kernels compares. The benchmark is the first,
// in name order, whose name matches re and whose unit is unit (e.g.
// "sec/op"); its name is returned too. Failed boots are counted. keep, when
// not nil, selects the boots (e.g. one cell's); values are in boot order.
func BootSamples(dirs []string, keep func(*BootRecord) bool, re *regexp.Regexp, unit string) (vals []float64, name string, failed int, err error) {
	boots, err := LoadBoots(dirs...)
	if err != nil {
		return nil, "", 0, err
	}
	var keys []benchKey
	perBoot := map[benchKey][]float64{}
	for _, b := range boots {
		if keep != nil && !keep(b) {
			continue
		}
		if !b.Status.OK() {
			failed++
			continue
		}
		meds, order, _, err := bootMedians(b)
		if err != nil {
			return nil, "", 0, err
		}
		for _, k := range order {
			if k.unit != unit || !re.MatchString(k.name) {
				continue
			}
			if _, ok := perBoot[k]; !ok {
				keys = append(keys, k)
			}
			perBoot[k] = append(perBoot[k], meds[k])
		}
	}
	if len(keys) == 0 {
		if failed > 0 {
			return nil, "", failed, nil
		}
		return nil, "", 0, fmt.Errorf("no benchmark matching %q with unit %s in %v", re, unit, dirs)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].name < keys[j].name })
	return perBoot[keys[0]], keys[0].name, failed, nil
}
