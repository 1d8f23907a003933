#!/usr/bin/env python3
# check-moved.py OLD_README: every code line, table row and line with a digit or a
# backtick of OLD_README (and every prose line) must be a line of README.md or
# docs/*.md, verbatim or in the relinked form listed below. Issue 29 split the
# README into docs/; rerun from the repository root as:
#   python3 docs/check-moved.py <(git show ba232db:README.md)
import glob, re, sys
old = open(sys.argv[1]).read().split('\n')
new_lines = set()
for f in ['README.md'] + sorted(glob.glob('docs/*.md')):
    for l in open(f).read().split('\n'):
        new_lines.add(l.rstrip())
# Lines edited on purpose in the move (a link that changed target); the new
# form must be present instead.
edited = {
 "kharness's own overhead (see below).": "kharness's own overhead ([docs/overhead.md](docs/overhead.md)).",
 '  difference in instructions and the call (see "Exact numbers" below).': '  difference in instructions and the call (see [docs/counts.md](docs/counts.md)).',
 'from kharness\'s own view of the suites (see Configs). On 2026-12-02:': 'from kharness\'s own view of the suites (see [configs.md](configs.md)). On 2026-12-02:',
 'on every system call. KSTACK_CHECK': 'on every system call.',
 'suite holds it: see "Four years of kernels"). Under TCG it bisects the': 'suite holds it: see [history.md](history.md)). Under TCG it bisects the',
 '`make fidelity` there (8 boots of 6.1, Go and C samples alternating; the': '`make fidelity` on this project\'s 2-core TCG machine (8 boots of 6.1, Go and C samples alternating; the',
 '122.2 µs. Between boots this host\'s slow stretches (1.5-1.9×, see below)': '122.2 µs. Between boots this host\'s slow stretches (1.5-1.9×, see [statistics.md](statistics.md))',
 '`BenchmarkAAFalseCalls` (below).': '`BenchmarkAAFalseCalls` ([statistics.md](statistics.md)).',
 '**Noisy hosts: the host guard.** On that machine a third of boots, or': "**Noisy hosts: the host guard.** On this project's 2-core machine a third of boots, or",
 '![report](docs/report.png)': '![report](report.png)',
}
# Headings that became page titles.
titles = {'## The guest suite', '## Configs', '## Overhead (`make bench`)', '## Tests', '## Four years of kernels'}
incode = False
checked = {'code': 0, 'table': 0, 'figure/command': 0, 'prose': 0}
lost, lost_prose = [], []
for i, l in enumerate(old, 1):
    s = l.rstrip()
    if s.startswith('```'):
        incode = not incode
        kind = 'code'
    elif incode:
        kind = 'code'
    elif s.startswith('|'):
        kind = 'table'
    elif re.search(r'[0-9`]', s):
        kind = 'figure/command'
    else:
        kind = 'prose'
    if not s.strip():
        continue
    checked[kind] += 1
    if s in new_lines:
        continue
    if s in edited and edited[s] in new_lines:
        continue
    if s in titles:
        continue
    (lost_prose if kind == 'prose' else lost).append((i, kind, s))
print('checked old lines:', checked)
print('edited on purpose (new form found):', sum(1 for k, v in edited.items() if k in [x.rstrip() for x in old] and v in new_lines), 'of', len(edited))
print('lost figure/table/code/command lines:', len(lost))
for x in lost: print('  LOST', x)
print('prose lines not found verbatim:', len(lost_prose))
for x in lost_prose: print('  prose', x)

# Every relative link of README.md and docs/*.md names a file that exists.
import os
broken = 0
for f in ['README.md'] + sorted(glob.glob('docs/*.md')):
    for m in re.finditer(r'\]\(([^)#\s]+)(#[^)]*)?\)', open(f).read()):
        t = m.group(1)
        if t.startswith('http'):
            continue
        if not os.path.exists(os.path.normpath(os.path.join(os.path.dirname(f), t))):
            print('  BROKEN link', f, t)
            broken += 1
print('broken links:', broken)
sys.exit(1 if lost or lost_prose or broken else 0)
