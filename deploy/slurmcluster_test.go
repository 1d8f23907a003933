package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slurmCluster is a one-node Slurm cluster of the test's own: munged with
// a key made for it, slurmctld and slurmd on free ports of 127.0.0.1, and
// their config, state, spool, logs and pid files under dir. The system's
// /etc/slurm and /etc/munge are never read (the daemons and commands are
// given the config by path), nor its munged's socket used.
type slurmCluster struct {
	dir     string
	env     []string // for the daemons and commands: SLURM_CONF and the marker
	marker  string   // an environment entry every process of the cluster carries
	daemons []daemon
}

// daemon is a daemon the test started; done closes when it has exited.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (d daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// slurmTools are what the cluster needs; the test skips where one is
// missing.
var slurmTools = []string{"munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel"}

// startSlurm brings the cluster up and waits until its node is idle. Its
// cleanup, registered first so it runs even when bring-up fails, cancels
// the cluster's jobs, stops the daemons and then kills anything still
// carrying the cluster's marker (a job step's slurmstepd, its script, the
// kharness and QEMU under it), so nothing outlives the test.
func startSlurm(t *testing.T) *slurmCluster {
	dir, err := os.MkdirTemp("", "kharness-slurm-") // short: munge's socket path must fit sun_path
	if err != nil {
		t.Fatal(err)
	}
	c := &slurmCluster{dir: dir, marker: "KHARNESS_SLURM_TEST=" + dir}
	c.env = append(os.Environ(), "SLURM_CONF="+filepath.Join(dir, "slurm.conf"), c.marker)
	t.Cleanup(func() { c.stop(t); os.RemoveAll(dir) })
	for _, d := range []string{"munge", "ctld", "spool"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, 1024)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(dir, "munge", "key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "munge")
	c.daemon(t, "munged", "-F", "--force", "--socket="+filepath.Join(m, "sock"), "--key-file="+filepath.Join(m, "key"),
		"--pid-file="+filepath.Join(m, "pid"), "--log-file="+filepath.Join(m, "log"), "--seed-file="+filepath.Join(m, "seed"))
	c.waitFor(t, "munged's socket", func() (bool, string) {
		_, err := os.Stat(filepath.Join(m, "sock"))
		return err == nil, fmt.Sprint(err)
	})
	if err := os.WriteFile(filepath.Join(dir, "slurm.conf"), []byte(c.config(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.daemon(t, "slurmctld", "-D", "-i")
	c.daemon(t, "slurmd", "-D")
	c.waitFor(t, "the node to be idle", func() (bool, string) {
		out, err := c.command(context.Background(), "sinfo", "-h", "-o", "%T").CombinedOutput()
		return err == nil && strings.TrimSpace(string(out)) == "idle", string(out) + fmt.Sprint(err)
	})
	return c
}

// config is slurm.conf: this node as slurmd -C describes it (so Slurm
// takes it as it is), one partition, and no accounting, cgroups or
// process tracking beyond process groups.
func (c *slurmCluster) config(t *testing.T) string {
	out, err := exec.Command("slurmd", "-C").Output()
	if err != nil {
		t.Fatalf("slurmd -C: %v", err)
	}
	node, _, _ := strings.Cut(string(out), "\n")
	host, _, _ := strings.Cut(strings.TrimPrefix(node, "NodeName="), " ")
	if !strings.HasPrefix(node, "NodeName=") || host == "" {
		t.Fatalf("slurmd -C printed %q: want a NodeName= line", out)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	d := c.dir
	return fmt.Sprintf(`ClusterName=kharness-test
SlurmctldHost=%[1]s(127.0.0.1)
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
SlurmUser=%[4]s
SlurmdUser=%[4]s
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=%[5]s/munge/sock
StateSaveLocation=%[5]s/ctld
SlurmdSpoolDir=%[5]s/spool
SlurmctldPidFile=%[5]s/ctld.pid
SlurmdPidFile=%[5]s/slurmd.pid
SlurmctldLogFile=%[5]s/ctld.log
SlurmdLogFile=%[5]s/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
%[6]s NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`, host, freePort(t), freePort(t), u.Username, d, node)
}

// freePort is a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// daemon starts a daemon in the foreground, as the test's child, with its
// output in dir.
func (c *slurmCluster) daemon(t *testing.T, name string, args ...string) {
	cmd := exec.Command(name, args...)
	if name != "munged" {
		cmd.Args = append(cmd.Args, "-f", filepath.Join(c.dir, "slurm.conf"))
	}
	cmd.Env = c.env
	log, err := os.Create(filepath.Join(c.dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	d := daemon{cmd, make(chan struct{})}
	c.daemons = append(c.daemons, d)
	go func() { cmd.Wait(); close(d.done) }()
}

// command is a Slurm client command talking to this cluster.
func (c *slurmCluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = c.env[:len(c.env):len(c.env)] // a caller's append copies
	return cmd
}

// waitFor polls cond for up to 5 minutes (a generous bound on a daemon's
// start; it measures nothing), failing with the daemons' logs.
func (c *slurmCluster) waitFor(t *testing.T, what string, cond func() (bool, string)) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ok, last := cond()
		if ok {
			return
		}
		for _, d := range c.daemons {
			if d.exited() {
				t.Fatalf("waiting for %s: %s exited (%v)\n%s", what, d.cmd.Path, d.cmd.ProcessState, c.logs())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still not after 5 minutes (last: %s)\n%s", what, strings.TrimSpace(last), c.logs())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// logs is the tail of each daemon's log, for a failure's message.
func (c *slurmCluster) logs() string {
	var b strings.Builder
	for _, f := range []string{"munge/log", "munged.out", "ctld.log", "slurmctld.out", "slurmd.log", "slurmd.out"} {
		data, err := os.ReadFile(filepath.Join(c.dir, f))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", f, data)
	}
	return b.String()
}

// stop cancels every job, waits (up to a minute) for the queue to empty,
// stops the daemons, and kills what still carries the marker.
func (c *slurmCluster) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(c.daemons) >= 3 {
		c.command(ctx, "scancel", "--user="+strconv.Itoa(os.Getuid())).Run()
		for ctx.Err() == nil {
			out, err := c.command(ctx, "squeue", "-h").Output()
			if err != nil || len(bytes.TrimSpace(out)) == 0 {
				break
			}
			time.Sleep(time.Second)
		}
	}
	for i := len(c.daemons) - 1; i >= 0; i-- {
		d := c.daemons[i]
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	if left := killMarked(c.marker); len(left) > 0 {
		t.Errorf("killed processes of the cluster left after it stopped: %v", left)
	}
}

// killMarked SIGKILLs every process whose environment holds marker, and
// returns their command lines.
func killMarked(marker string) []string {
	var killed []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		env, err := os.ReadFile(filepath.Join(p, "environ"))
		if err != nil || !bytes.Contains(append(env, 0), []byte(marker+"\x00")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(p))
		if pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed = append(killed, strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	return killed
}
