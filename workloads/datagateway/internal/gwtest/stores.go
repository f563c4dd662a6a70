package gwtest

import (
	"path/filepath"
	"testing"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/buffer"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/sink"
)

// Stores opens the gateway's two stores under dir, as the gateway lays them out: the
// buffer in dir/buffer (opts.Dir is set) and the dead-letter store in dir/deadletter.
// The buffer is closed when the test ends.
func Stores(t testing.TB, dir string, opts buffer.Options) (*buffer.Buffer, *sink.DeadLetters) {
	t.Helper()
	opts.Dir = filepath.Join(dir, "buffer")
	buf, err := buffer.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { buf.Close() })
	dl, err := sink.NewDeadLetters(filepath.Join(dir, "deadletter"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return buf, dl
}
