package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/pkg/cloudevent"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// testMessages builds n messages carrying real CloudEvents of asset dev<i%assets>.
func testMessages(n, assets int) []message.Message {
	out := make([]message.Message, n)
	base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range out {
		dev := fmt.Sprintf("dev%d", i%assets)
		ev := cloudevent.New("tempsensor", dev, int64(i), cloudevent.SourceFor("l2", "tempsensor"), base.Add(time.Duration(i)*time.Millisecond),
			json.RawMessage(fmt.Sprintf(`{"machine":{"temperature":%d}}`, i)))
		raw, err := cloudevent.Encode(ev)
		if err != nil {
			panic(err)
		}
		topic := "telemetry/tempsensor/" + dev
		out[i] = message.Message{ID: ev.ID, Topic: topic, Key: message.PartitionKey("", topic), Time: ev.Time, ReceivedAt: base.Add(time.Second), Event: raw, Offset: uint64(i)}
	}
	return out
}

// readLines returns every JSON line under dir (files in name order).
func readLines(t *testing.T, dir string) []message.Line {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	sort.Strings(files)
	var out []message.Line
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var l message.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: bad line %q: %v", f, sc.Text(), err)
			}
			out = append(out, l)
		}
		fh.Close()
	}
	return out
}

func TestFileSinkWritesLinesAndRotatesBySize(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFile("local", FileOptions{Dir: dir, MaxFileBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msgs := testMessages(200, 3)
	for i := 0; i < len(msgs); i += 5 {
		if err := f.Write(context.Background(), msgs[i:i+5]); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "telemetry-*.jsonl"))
	if len(files) < 3 {
		t.Fatalf("want rotation by size into several files, got %d", len(files))
	}
	for _, p := range files {
		if st, _ := os.Stat(p); st.Size() > 8<<10 {
			t.Fatalf("%s is %d bytes, over the 8 KiB bound", p, st.Size())
		}
	}
	lines := readLines(t, dir)
	if len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
	for i, l := range lines {
		ev, err := cloudevent.Decode(l.Event)
		if err != nil || l.ID != msgs[i].ID || ev.ID != l.ID || l.Key != msgs[i].Key || l.Topic != msgs[i].Topic || l.Time == nil || !l.Time.Equal(msgs[i].Time) {
			t.Fatalf("line %d = %+v (event err %v), want message %s", i, l, err, msgs[i].ID)
		}
	}
}

func TestFileSinkRotatesByAge(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f, _ := NewFile("local", FileOptions{Dir: dir, MaxFileAge: time.Minute, Now: func() time.Time { return now }})
	defer f.Close()
	msgs := testMessages(3, 1)
	for i := range msgs {
		if err := f.Write(context.Background(), msgs[i:i+1]); err != nil {
			t.Fatal(err)
		}
		now = now.Add(45 * time.Second)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) != 2 {
		t.Fatalf("want 2 files after 90 s with a 1 min max age, got %v", files)
	}
}

func TestFileSinkFailsWhileItsDirectoryIsUnavailableAndRecovers(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	f, _ := NewFile("local", FileOptions{Dir: dir})
	defer f.Close()
	msgs := testMessages(3, 1)
	if err := f.Write(context.Background(), msgs[:1]); err != nil {
		t.Fatal(err)
	}
	// The directory is moved away and a regular file takes its place.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(context.Background(), msgs[1:2]); err == nil {
		t.Fatal("write succeeded while the directory was unavailable")
	}
	os.Remove(dir)
	if err := f.Write(context.Background(), msgs[1:3]); err != nil {
		t.Fatalf("write after the directory came back: %v", err)
	}
	if lines := readLines(t, dir); len(lines) != 2 || lines[0].ID != msgs[1].ID {
		t.Fatalf("new directory holds %d lines", len(lines))
	}
}

func TestDeadLettersKeepReasonAndPayload(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDeadLetters(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	now := time.Now()
	err = d.Put(context.Background(),
		Dead{Topic: "telemetry/x", Reason: "undecodable: not JSON", Stage: "ingest", ReceivedAt: now, Payload: []byte("\x00garbage")},
		Dead{ID: "a/b/1", Topic: "telemetry/y", Reason: "oversized", Stage: "ingest", ReceivedAt: now, Payload: []byte(`{"id":"a/b/1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "deadletter-*.jsonl"))
	data, _ := os.ReadFile(files[0])
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var a, b DeadLetterLine
	if err := errors.Join(json.Unmarshal([]byte(lines[0]), &a), json.Unmarshal([]byte(lines[1]), &b)); err != nil {
		t.Fatal(err)
	}
	if a.Reason != "undecodable: not JSON" || string(a.PayloadBase64) != "\x00garbage" || a.Event != nil || a.Stage != "ingest" {
		t.Fatalf("undecodable dead letter: %+v", a)
	}
	if b.ID != "a/b/1" || string(b.Event) != `{"id":"a/b/1"}` || b.Reason != "oversized" {
		t.Fatalf("oversized dead letter: %+v", b)
	}
}

// Writes are visible at once and made durable by Sync; a file that fails leaves the
// lines written to it since the last Sync in doubt, and the next Sync says so,
// so that the drainer writes them again. The Sync after that is clean again.
func TestFileSinkSyncReportsLinesAFailedWriteLeftInDoubt(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFile("files", FileOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var _ Syncer = f
	msgs := testMessages(4, 1)
	if err := f.Write(context.Background(), msgs[:2]); err != nil {
		t.Fatal(err)
	}
	if got := len(readLines(t, dir)); got != 2 {
		t.Fatalf("%d lines visible before the sync, want 2", got)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if err := f.Write(context.Background(), msgs[2:3]); err != nil {
		t.Fatal(err)
	}
	f.rot.mu.Lock()
	f.rot.f.Close() // the file fails under the sink, as on a dying disk
	f.rot.mu.Unlock()
	_ = f.Write(context.Background(), msgs[3:]) // into a new file, or an error: either way msgs[2] is in doubt
	err = f.Sync()
	if err == nil || !strings.Contains(err.Error(), "sink files") {
		t.Fatalf("sync after a failed write: %v, want an error naming the sink", err)
	}
	if err := f.Write(context.Background(), msgs[3:]); err != nil {
		t.Fatalf("write after the failure: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync after recovering: %v", err)
	}
}
