package seqstore_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/edgeframe/edgeframe/pkg/seqstore"
)

func open(t *testing.T, path string, opts ...seqstore.Option) *seqstore.Store {
	t.Helper()
	s, err := seqstore.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func next(t *testing.T, s *seqstore.Store, n int) []int64 {
	t.Helper()
	out := make([]int64, 0, n)
	for range n {
		seq, err := s.Next()
		if err != nil {
			t.Fatalf("Next after %d sequences: %v", len(out), err)
		}
		out = append(out, seq)
	}
	return out
}

func mark(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contiguous(t *testing.T, got []int64, from int64) {
	t.Helper()
	for i, seq := range got {
		if seq != from+int64(i) {
			t.Fatalf("sequence %d is %d, want %d (contiguous from %d)", i, seq, from+int64(i), from)
		}
	}
}

func TestMissingFileStartsAtOneAndCleanCloseResumesWithoutAGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "seq-dev1") // the directory is created
	s := open(t, path)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open wrote the state file before the first Next: %v", err)
	}
	contiguous(t, next(t, s, 1500), 1)
	if got := mark(t, path); got != "seqstore v1 next=2001\n" {
		t.Fatalf("state file while running %q, want the reserved mark 2001 (two blocks of 1000)", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mark(t, path); got != "seqstore v1 next=1501\n" {
		t.Fatalf("state file after Close %q, want the exact next sequence 1501", got)
	}
	if _, err := s.Next(); !errors.Is(err, seqstore.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	s = open(t, path)
	defer s.Close()
	if s.Peek() != 1501 {
		t.Fatalf("Peek after reopening %d", s.Peek())
	}
	contiguous(t, next(t, s, 10), 1501)
}

// crashEnv makes the test binary a child that hands out sequences and dies by SIGKILL,
// without Close: a real crash, whatever the kernel and the runtime leave behind.
const crashEnv = "SEQSTORE_TEST_CRASH"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		crashChild(spec)
	}
	if dir := os.Getenv(readOnlyEnv); dir != "" {
		readOnlyChild(dir)
	}
	os.Exit(m.Run())
}

func crashChild(spec string) {
	path, nStr, _ := strings.Cut(spec, "|")
	n, _ := strconv.Atoi(nStr)
	s, err := seqstore.Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for range n {
		seq, err := s.Next()
		if err != nil {
			fmt.Fprintln(w, "error", err)
			break
		}
		fmt.Fprintln(w, seq)
	}
	w.Flush()
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

func TestResumesAtTheMarkAfterACrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq-dev1")
	run := func(n int) []int64 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path+"|"+strconv.Itoa(n))
		out, err := cmd.Output()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child: %v, want death by SIGKILL\n%s", err, out)
		}
		var seqs []int64
		for _, line := range strings.Fields(string(out)) {
			seq, err := strconv.ParseInt(line, 10, 64)
			if err != nil {
				t.Fatalf("child said %q", out)
			}
			seqs = append(seqs, seq)
		}
		if len(seqs) != n {
			t.Fatalf("child handed out %d sequences, want %d", len(seqs), n)
		}
		return seqs
	}
	first := run(1500)
	contiguous(t, first, 1)
	second := run(700)
	// The first run reserved up to 2000 (mark 2001) and died at 1500: the second resumes
	// at the mark, skipping 500 — less than a block — and reusing nothing.
	contiguous(t, second, 2001)
	third := run(1)
	contiguous(t, third, 3001)

	s := open(t, path)
	defer s.Close()
	if got := s.Peek(); got != 3001+1000 {
		t.Fatalf("after three crashes the next sequence is %d, want 4001", got)
	}
}

func TestCorruptFileIsAnErrorNamingItNeverAReset(t *testing.T) {
	cases := map[string]string{
		"empty":            "",
		"garbage":          "\x00\x17garbage",
		"no newline":       "seqstore v1 next=1200",
		"zero":             "seqstore v1 next=0\n",
		"negative":         "seqstore v1 next=-5\n",
		"not a number":     "seqstore v1 next=12a\n",
		"trailing data":    "seqstore v1 next=12\nseqstore v1 next=13\n",
		"other version":    "seqstore v2 next=12\n",
		"overflow":         "seqstore v1 next=99999999999999999999\n",
		"too long":         "seqstore v1 next=1" + strings.Repeat("0", 60) + "\n",
		"leading space":    " seqstore v1 next=12\n",
		"bare number":      "12001\n",
		"sign":             "seqstore v1 next=+12\n",
		"spaces in number": "seqstore v1 next=1 2\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seq-dev1")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := seqstore.Open(path)
			if err == nil {
				s.Close()
				t.Fatalf("Open accepted %q", content)
			}
			if !errors.Is(err, seqstore.ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v: want ErrCorrupt naming %s", err, path)
			}
			if got := mark(t, path); got != content {
				t.Fatalf("the corrupt file was changed to %q", got)
			}
			// The lock was released: after a repair the file opens.
			if err := os.WriteFile(path, []byte("seqstore v1 next=5000\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s = open(t, path)
			defer s.Close()
			contiguous(t, next(t, s, 1), 5000)
		})
	}
}

func TestConcurrentNextHandsOutEverySequenceOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq-group")
	s := open(t, path, seqstore.Block(100))
	const goroutines, each = 8, 2000
	got := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				seq, err := s.Next()
				if err != nil {
					t.Error(err)
					return
				}
				got[g] = append(got[g], seq)
			}
		}()
	}
	wg.Wait()
	seen := make(map[int64]bool, goroutines*each)
	for _, seqs := range got {
		for i, seq := range seqs {
			if seen[seq] {
				t.Fatalf("sequence %d handed out twice", seq)
			}
			if i > 0 && seq <= seqs[i-1] {
				t.Fatalf("one goroutine got %d after %d", seq, seqs[i-1])
			}
			seen[seq] = true
		}
	}
	for seq := int64(1); seq <= goroutines*each; seq++ {
		if !seen[seq] {
			t.Fatalf("sequence %d never handed out", seq)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	contiguous(t, next(t, s, 1), goroutines*each+1)
}

// failingWrite opens a store in dir (block 10), takes the first block (mark 11 on disk),
// breaks writing with brk and checks that Next fails, naming the file, without handing out
// anything; after the repair it continues at 11. It returns errors instead of using a
// *testing.T so that it also runs in a child process with another uid.
func failingWrite(dir string, brk func(dir string) (repair func() error, err error)) error {
	path := filepath.Join(dir, "seq-dev1")
	s, err := seqstore.Open(path, seqstore.Block(10))
	if err != nil {
		return err
	}
	defer s.Close()
	for want := int64(1); want <= 10; want++ {
		if seq, err := s.Next(); err != nil || seq != want {
			return fmt.Errorf("Next: %d %v, want %d", seq, err, want)
		}
	}
	repair, err := brk(dir)
	if err != nil {
		return err
	}
	for range 3 {
		seq, err := s.Next()
		if err == nil {
			_ = repair()
			return fmt.Errorf("Next handed out %d although the mark 21 could not be written (durable mark 11)", seq)
		}
		if !strings.Contains(err.Error(), path) {
			return fmt.Errorf("error does not name the state file: %v", err)
		}
	}
	if s.Peek() != 11 {
		return fmt.Errorf("Peek %d after the failures, want 11", s.Peek())
	}
	if err := repair(); err != nil {
		return err
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "seqstore v1 next=11\n" {
		return fmt.Errorf("state file %q %v, want the durable mark 11", b, err)
	}
	if tmps, _ := filepath.Glob(path + ".tmp-*"); len(tmps) != 0 {
		return fmt.Errorf("temporary files left behind: %v", tmps)
	}
	for want := int64(11); want <= 15; want++ {
		if seq, err := s.Next(); err != nil || seq != want {
			return fmt.Errorf("Next after the repair: %d %v, want %d", seq, err, want)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "seqstore v1 next=21\n" {
		return fmt.Errorf("state file after the repair %q", b)
	}
	return nil
}

func readOnly(dir string) (func() error, error) {
	if err := os.Chmod(dir, 0o500); err != nil {
		return nil, err
	}
	return func() error { return os.Chmod(dir, 0o700) }, nil
}

func moveAway(dir string) (func() error, error) {
	if err := os.Rename(dir, dir+".away"); err != nil {
		return nil, err
	}
	return func() error { return os.Rename(dir+".away", dir) }, nil
}

// readOnlyEnv makes the test binary a child that runs failingWrite with a read-only
// directory; root ignores directory permissions, so as root the test runs it as nobody.
const readOnlyEnv = "SEQSTORE_TEST_READONLY"

func readOnlyChild(dir string) {
	if err := failingWrite(dir, readOnly); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestFailingWriteHandsOutNothingBeyondTheDurableMark(t *testing.T) {
	t.Run("directory gone", func(t *testing.T) {
		if err := failingWrite(filepath.Join(t.TempDir(), "state"), moveAway); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() != 0 {
			if err := failingWrite(filepath.Join(t.TempDir(), "state"), readOnly); err != nil {
				t.Fatal(err)
			}
			return
		}
		// As root: the test binary and a world-writable directory, run as nobody.
		const nobody = 65534
		shared, err := os.MkdirTemp("", "seqstore-readonly-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(shared) })
		bin := filepath.Join(shared, "seqstore.test")
		exe, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, exe, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shared, 0o777); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), readOnlyEnv+"="+filepath.Join(shared, "state"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("as uid %d: %v\n%s", nobody, err, out)
		}
	})
}

func TestSecondOpenOfTheSameFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq-dev1")
	s := open(t, path)
	if _, err := seqstore.Open(path); !errors.Is(err, seqstore.ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open: %v, want ErrLocked naming the file", err)
	}
	contiguous(t, next(t, s, 3), 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	contiguous(t, next(t, s, 1), 4)
}

func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seq-dev1")
	stale := path + ".tmp-123456"
	other := filepath.Join(dir, "seq-dev2.tmp-123456")
	for _, f := range []string{stale, other} {
		if err := os.WriteFile(f, []byte("seqstore v1 next=9"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, path)
	defer s.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another writer's file removed: %v", err)
	}
}

func TestMemoryStartsAtOneEveryTime(t *testing.T) {
	for range 2 {
		s := seqstore.Memory()
		contiguous(t, next(t, s, 2500), 1)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLazyReportsOpenFailuresAndRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seq-dev1")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := seqstore.NewLazy(path, seqstore.Block(10))
	for range 2 {
		if _, err := l.Next(); !errors.Is(err, seqstore.ErrCorrupt) {
			t.Fatalf("Next over a corrupt file: %v", err)
		}
	}
	if err := os.WriteFile(path, []byte("seqstore v1 next=700\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for want := int64(700); want < 715; want++ {
		if seq, err := l.Next(); err != nil || seq != want {
			t.Fatalf("Next: %d %v, want %d", seq, err, want)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Next(); !errors.Is(err, seqstore.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if got := mark(t, path); got != "seqstore v1 next=715\n" {
		t.Fatalf("state file %q", got)
	}

	mem := seqstore.NewLazy("")
	if seq, err := mem.Next(); err != nil || seq != 1 {
		t.Fatalf("in-memory Lazy: %d %v", seq, err)
	}
}
