package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeProcess is not a test: it is `leadq serve` for the tests that
// measure a real server process (TestBatchMemory), which run the test
// binary again with LEADQ_SERVE_ARGS.
func TestServeProcess(t *testing.T) {
	args := os.Getenv("LEADQ_SERVE_ARGS")
	if args == "" {
		t.Skip("runs only as a child of TestBatchMemory")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, strings.Fields(args), strings.NewReader(""), os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// startServeProcess runs `leadq serve args...` in a process of its own and
// returns its address and pid.
func startServeProcess(t *testing.T, args ...string) (addr string, pid int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeProcess$")
	cmd.Env = append(os.Environ(), "LEADQ_SERVE_ARGS="+strings.Join(append([]string{"serve"}, args...), " "))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(serveWait):
			cmd.Process.Kill()
		}
	})
	listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case addr = <-found:
	case <-time.After(serveWait):
		t.Fatal("leadq serve did not start listening")
	}
	return addr, cmd.Process.Pid
}

// procStatus reads a field of /proc/PID/status in bytes (VmRSS, VmHWM).
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestBatchMemory sends the 1 MiB batch of empty leads (`[{},{},...]`,
// 349,524 of them, a 2 GB answer) to a real leadq serve process: its
// resident memory may grow by less than 100 MB. The server answers a batch
// a chunk at a time; it used to build the whole answer, and grew to 4.4 GB.
// A server that passes the limit is stopped at once, so that the test fails
// without exhausting the machine.
func TestBatchMemory(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("measures a real process: not under -race or -short (.ci/run runs it without -race)")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read a process's memory")
	}
	const limit = 100 << 20
	addr, pid := startServeProcess(t, "--rules", "../../examples/rulesets", "--addr", "127.0.0.1:0", "--timeout", "10m", "--log-level", "info")
	url := "http://" + addr
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > serveWait {
			t.Fatal("leadq serve did not become ready")
		}
	}
	// Warm up: the first decisions fill the engine's caches.
	warm := "[" + strings.Repeat("{},", 2000) + "{}]"
	if resp, err := http.Post(url+"/v1/score/batch?ruleset=b2b-saas", "application/json", strings.NewReader(warm)); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	time.Sleep(200 * time.Millisecond)
	idle := procStatus(t, pid, "VmRSS")

	n := (1<<20 - 2) / 3 // "{}," each, within 1 MiB with the brackets
	body := "[" + strings.Repeat("{},", n-1) + "{}]"
	done := make(chan struct{})
	type result struct {
		status int
		size   int64
		tail   []byte
		err    error
	}
	res := make(chan result, 1)
	go func() {
		defer close(done)
		resp, err := http.Post(url+"/v1/score/batch?ruleset=b2b-saas", "application/json", strings.NewReader(body))
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var r result
		r.status = resp.StatusCode
		buf := make([]byte, 1<<20)
		for {
			k, err := resp.Body.Read(buf)
			r.size += int64(k)
			if k > 0 {
				r.tail = append(r.tail, buf[:k]...)
				if len(r.tail) > 64 {
					r.tail = r.tail[len(r.tail)-64:]
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				r.err = err
				break
			}
		}
		res <- r
	}()
	peak := idle
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			rss := procStatus(t, pid, "VmRSS")
			peak = max(peak, rss)
			if rss-idle > limit {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("leadq serve grew from %d MB to %d MB answering %d empty leads; the limit is %d MB more", idle>>20, rss>>20, n, limit>>20)
			}
		}
	}
	peak = max(peak, procStatus(t, pid, "VmHWM"))
	r := <-res
	t.Logf("%d empty leads: %d, %d MB answered; RSS idle %d MB, peak %d MB (+%d MB)", n, r.status, r.size>>20, idle>>20, peak>>20, (peak-idle)>>20)
	if r.err != nil || r.status != 200 || !bytes.HasSuffix(r.tail, []byte(`],"failed":0}`+"\n")) {
		t.Fatalf("POST /v1/score/batch = %d, %v, ending %q; want 200 and the whole answer", r.status, r.err, r.tail)
	}
	if peak-idle > limit {
		t.Errorf("RSS peaked at %d MB, %d MB above idle (%d MB); want less than %d MB more", peak>>20, (peak-idle)>>20, idle>>20, limit>>20)
	}
}
