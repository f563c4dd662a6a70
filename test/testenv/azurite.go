package testenv

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/edgeframe/edgeframe/internal/supervise"
)

// AzuriteAccountKey is the well-known key of Azurite's devstoreaccount1.
const AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// Azurite is a running Blob Storage emulator.
type Azurite struct {
	*Process
	Port int
	// BlobEndpoint is http://127.0.0.1:<port>/devstoreaccount1.
	BlobEndpoint string
	// ConnectionString is the shared-key connection string the azblob SDK accepts.
	ConnectionString string
	// Dir is where Azurite keeps its data: a Restart keeps the blobs.
	Dir string
}

// StartAzurite starts azurite-blob (from `make tools`, build/tools/40-azurite.sh) on a
// free loopback port with its data in a temp dir, and waits until it accepts connections.
// Stop/Kill and Restart simulate a storage outage with the data kept.
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	bin := Tool(t, "azurite-blob")
	port := FreePort(t)
	dir := t.TempDir()
	a := &Azurite{Port: port, Dir: dir}
	a.BlobEndpoint = fmt.Sprintf("http://127.0.0.1:%d/devstoreaccount1", port)
	a.ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteAccountKey +
		";BlobEndpoint=" + a.BlobEndpoint + ";"
	a.Process = StartProcess(t, ProcSpec{
		Name: "azurite-blob",
		Path: bin,
		Args: []string{"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--location", dir,
			"--skipApiVersionCheck", "--loose", "--silent"},
		Dir:          dir,
		ReadyTimeout: 60 * time.Second,
		Ready:        supervise.DialReady(fmt.Sprintf("127.0.0.1:%d", port)),
	})
	return a
}
