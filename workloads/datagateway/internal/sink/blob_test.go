package sink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/edgeframe/edgeframe/test/testenv"
	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// BlobLines downloads every blob of container and returns its lines by blob name.
func blobLines(t *testing.T, cl *azblob.Client, container string) map[string][]message.Line {
	t.Helper()
	out := map[string][]message.Line{}
	ctx := context.Background()
	pager := cl.NewListBlobsFlatPager(container, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			resp, err := cl.DownloadStream(ctx, container, *it.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// Go's HTTP transport may already have undone Content-Encoding: gzip.
			if strings.HasSuffix(*it.Name, ".gz") && bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: %v", *it.Name, err)
				}
				data, _ = io.ReadAll(zr)
			}
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				var l message.Line
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("%s: %v", *it.Name, err)
				}
				out[*it.Name] = append(out[*it.Name], l)
			}
		}
	}
	return out
}

func TestBlobSinkAgainstAzurite(t *testing.T) {
	az := testenv.StartAzurite(t)
	for _, gz := range []bool{false, true} {
		container := "telemetry"
		if gz {
			container = "telemetry-gz"
		}
		b, err := NewBlob("lake", BlobOptions{ConnectionString: az.ConnectionString, Container: container, Gzip: gz, CreateContainer: true, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		msgs := testMessages(90, 3)
		if err := b.Write(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		// a retry of the same batch overwrites the same blobs
		if err := b.Write(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		blobs := blobLines(t, b.Client(), container)
		if len(blobs) != 3 {
			t.Fatalf("gzip=%v: want one blob per asset (3), got %d: %v", gz, len(blobs), keys(blobs))
		}
		total := 0
		for name, lines := range blobs {
			if !strings.HasPrefix(name, "2026/03/04/05/tempsensor/") || (gz != strings.HasSuffix(name, ".jsonl.gz")) {
				t.Fatalf("blob name %q does not follow the template", name)
			}
			for _, l := range lines {
				if !strings.Contains(name, "/"+l.Key+"/") || l.ID == "" {
					t.Fatalf("line %+v in blob %s", l, name)
				}
			}
			total += len(lines)
		}
		if total != 90 {
			t.Fatalf("%d lines, want 90", total)
		}
	}
}

func TestBlobSinkFailsWhileStorageIsDownAndRecovers(t *testing.T) {
	az := testenv.StartAzurite(t)
	b, _ := NewBlob("lake", BlobOptions{ConnectionString: az.ConnectionString, Container: "outage", CreateContainer: true, Timeout: 3 * time.Second})
	msgs := testMessages(4, 1)
	if err := b.Write(context.Background(), msgs[:2]); err != nil {
		t.Fatal(err)
	}
	az.Stop()
	if err := b.Write(context.Background(), msgs[2:]); err == nil {
		t.Fatal("write succeeded while Azurite was down")
	}
	az.Restart(t)
	if err := b.Write(context.Background(), msgs[2:]); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	n := 0
	for _, lines := range blobLines(t, b.Client(), "outage") {
		n += len(lines)
	}
	if n != 4 {
		t.Fatalf("%d lines, want 4", n)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
