package publisher_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/pkg/daprpub"
	"github.com/edgeframe/edgeframe/pkg/seqstore"
	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/pnjson"
	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/publisher"
)

// checkIDs fails unless the events of group are numbered from, from+1, … with matching
// CloudEvent ids and network message ids.
func checkIDs(t *testing.T, items []daprpub.Item, group string, from int64) {
	t.Helper()
	for i, it := range items {
		want := from + int64(i)
		if it.Event.Sequence != want || it.Event.ID != cloudevent.NewID("opcua", group, want) {
			t.Fatalf("event %d: id %s sequence %d, want sequence %d", i, it.Event.ID, it.Event.Sequence, want)
		}
		// <group>-<n>, or <group>-<run>-<n> when the sequence is in memory
		if m := decodeNet(t, it); !strings.HasPrefix(m.MessageID, group+"-") || !strings.HasSuffix(m.MessageID, fmt.Sprintf("-%d", want)) {
			t.Fatalf("event %s: network message id %s", it.Event.ID, m.MessageID)
		}
	}
}

// A publisher started again with the same state dir continues every group's sequence after
// the previous run's: no CloudEvent id (nor network message id) repeats.
func TestRestartWithStateDirContinuesEveryGroup(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	state := t.TempDir()
	pn := strings.TrimSuffix(pnFor(plc.Endpoint, "line1", 0), "]") + "," + strings.TrimPrefix(pnFor(plc.Endpoint, "line2", 0), "[")
	opts := publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1, StateDir: state}

	byGroup := func(items []daprpub.Item) map[string][]daprpub.Item {
		m := map[string][]daprpub.Item{}
		for _, it := range items {
			m[it.Event.Subject] = append(m[it.Event.Subject], it)
		}
		return m
	}
	next := map[string]int64{"line1": 1, "line2": 1}
	for run := 1; run <= 3; run++ {
		_, s, logs, stop := start(t, opts, pn)
		waitFor(t, 30*time.Second, "too few messages", func() bool {
			g := byGroup(s.items())
			return len(g["line1"]) >= 10 && len(g["line2"]) >= 10
		})
		stop() // flushes, then records the exact next sequence of each group
		if run == 1 && !strings.Contains(logs.String(), `"msg":"sequence store opened"`) {
			t.Error("the log does not say where each group's sequence resumes")
		}
		for group, items := range byGroup(s.items()) {
			checkIDs(t, items, group, next[group])
			next[group] += int64(len(items))
			b, err := os.ReadFile(filepath.Join(state, "seq-"+group))
			if err != nil || string(b) != fmt.Sprintf("seqstore v1 next=%d\n", next[group]) {
				t.Fatalf("run %d: state of %s %q %v, want next=%d", run, group, b, err, next[group])
			}
		}
	}
}

// While a group's state file cannot be written its batches are dropped (never sent with a
// sequence that could repeat), Ready and the log say why, and publishing resumes at the next
// unused sequence once the directory is back.
func TestSequenceStoreFailureDropsTheGroupsBatchesUntilItRecovers(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	state := filepath.Join(t.TempDir(), "state")
	p, s, logs, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1, StateDir: state, SequenceBlock: 5},
		pnFor(plc.Endpoint, "plc5", 0))
	waitFor(t, 30*time.Second, "no messages", func() bool { return len(s.items()) >= 1 })
	if err := os.Rename(state, state+".away"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "Ready does not report the sequence store", func() bool {
		err := p.Ready()
		return err != nil && strings.Contains(err.Error(), "group plc5: sequence store") && strings.Contains(err.Error(), filepath.Join(state, "seq-plc5"))
	})
	time.Sleep(time.Second) // batches keep coming and are dropped
	if n := len(s.items()); n != 5 {
		t.Fatalf("%d events while the state file cannot be written, want the 5 of the durable block", n)
	}
	if err := os.Rename(state+".away", state); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "publishing did not resume", func() bool { return len(s.items()) >= 10 })
	checkIDs(t, s.items(), "plc5", 1)
	if err := p.Ready(); err != nil {
		t.Errorf("Ready after the recovery: %v", err)
	}
	for _, want := range []string{"cannot persist the message sequence", "sequence store works again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// A corrupt state file is never read as a fresh start: the group sends nothing and Ready
// names the file until it is repaired; then the sequence starts at the repaired mark.
func TestCorruptStateFileStopsTheGroupUntilRepaired(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	state := t.TempDir()
	path := filepath.Join(state, "seq-plc6")
	if err := os.WriteFile(path, []byte("seqstore v1 next=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1, StateDir: state}, pnFor(plc.Endpoint, "plc6", 0))
	if err := p.Ready(); !errors.Is(err, seqstore.ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Ready with a corrupt state file: %v", err)
	}
	time.Sleep(2 * time.Second) // data flows from opcplc and is dropped
	if n := len(s.items()); n != 0 {
		t.Fatalf("%d events sent with a corrupt state file", n)
	}
	if err := os.WriteFile(path, []byte("seqstore v1 next=777\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "nothing sent after the repair", func() bool { return len(s.items()) >= 3 })
	checkIDs(t, s.items(), "plc6", 777)
}

// A group removed from the file and added back continues its sequence, with or without a
// state dir: its ids never repeat within a process either.
func TestGroupRemovedAndAddedBackContinuesItsSequence(t *testing.T) {
	plc := testenv.StartOPCPLC(t, testenv.OPCPLCSpec{Unsecure: true, Args: []string{"--fn", "2", "--vfr", "100"}})
	for name, state := range map[string]string{"in memory": "", "state dir": t.TempDir()} {
		t.Run(name, func(t *testing.T) {
			a, b := pnFor(plc.Endpoint, "back", 0), pnFor(plc.Endpoint, "other", 0)
			p, s, _, _ := start(t, publisher.Options{MessagingMode: publisher.ModePubSub, BatchSize: 1, StateDir: state}, a)
			of := func(group string) []daprpub.Item {
				var out []daprpub.Item
				for _, it := range s.items() {
					if it.Event.Subject == group {
						out = append(out, it)
					}
				}
				return out
			}
			apply := func(pn string) {
				f, err := pnjson.Parse([]byte(pn))
				if err != nil {
					t.Fatal(err)
				}
				p.Apply(f)
			}
			waitFor(t, 30*time.Second, "no messages", func() bool { return len(of("back")) >= 5 })
			apply(b) // "back" removed: flushed
			n := len(of("back"))
			waitFor(t, 30*time.Second, "the other group is silent", func() bool { return len(of("other")) >= 3 })
			apply(a)
			waitFor(t, 30*time.Second, "the group did not come back", func() bool { return len(of("back")) >= n+5 })
			checkIDs(t, of("back"), "back", 1)
		})
	}
}
