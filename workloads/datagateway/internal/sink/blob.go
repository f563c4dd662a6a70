package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/edgeframe/edgeframe/workloads/datagateway/internal/message"
)

// DefaultBlobPathTemplate groups blobs by date, hour and asset.
const DefaultBlobPathTemplate = "{yyyy}/{MM}/{dd}/{HH}/{asset}"

// BlobOptions configures the Azure Blob Storage sink.
type BlobOptions struct {
	// ConnectionString (shared key) or AccountURL with Credential (azidentity).
	ConnectionString string
	AccountURL       string
	Credential       azcore.TokenCredential
	Container        string
	// PathTemplate is the blob folder; placeholders {yyyy} {MM} {dd} {HH} (of the
	// message's receivedAt, UTC) and {asset} (the partition key).
	PathTemplate string
	// Gzip compresses each blob (name ends .jsonl.gz, Content-Encoding gzip).
	Gzip bool
	// CreateContainer creates the container when missing.
	CreateContainer bool
	// Timeout bounds one Write.
	Timeout time.Duration
	// Instance makes blob names unique per process (default random).
	Instance string
}

// Blob writes each batch as newline-delimited JSON blobs (message.Line), one blob per
// asset and hour in the batch, named
// <path>/<yyyymmddThhmmssZ of the first message>-<first buffer offset>-<instance>.jsonl[.gz].
// A retried batch overwrites the same names, so retries do not duplicate blobs.
type Blob struct {
	name string
	o    BlobOptions
	cl   *azblob.Client

	once    sync.Mutex
	created bool
}

// NewBlob builds the client.
func NewBlob(name string, o BlobOptions) (*Blob, error) {
	if o.Container == "" {
		return nil, fmt.Errorf("sink %s: blob: container: required", name)
	}
	if o.PathTemplate == "" {
		o.PathTemplate = DefaultBlobPathTemplate
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Instance == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Instance = hex.EncodeToString(b[:])
	}
	// One try per Write: the drainer retries with its own backoff and circuit breaker.
	co := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1, TryTimeout: o.Timeout}}}
	var (
		cl  *azblob.Client
		err error
	)
	switch {
	case o.ConnectionString != "":
		cl, err = azblob.NewClientFromConnectionString(o.ConnectionString, co)
	case o.AccountURL != "":
		cred := o.Credential
		if cred == nil {
			c, cerr := azidentity.NewDefaultAzureCredential(nil)
			if cerr != nil {
				return nil, fmt.Errorf("sink %s: blob: azure credential: %w", name, cerr)
			}
			cred = c
		}
		cl, err = azblob.NewClient(o.AccountURL, cred, co)
	default:
		return nil, fmt.Errorf("sink %s: blob: connectionString or accountURL: one is required", name)
	}
	if err != nil {
		return nil, fmt.Errorf("sink %s: blob client: %w", name, err)
	}
	return &Blob{name: name, o: o, cl: cl}, nil
}

// Name is the configured sink name.
func (b *Blob) Name() string { return b.name }

type blobGroup struct {
	path string
	idx  []int
}

// BlobPath renders the folder of a message from the template.
func BlobPath(tmpl string, m message.Message) string {
	t := m.ReceivedAt.UTC()
	return strings.NewReplacer(
		"{yyyy}", t.Format("2006"), "{MM}", t.Format("01"), "{dd}", t.Format("02"), "{HH}", t.Format("15"),
		"{asset}", m.Key,
	).Replace(tmpl)
}

// Write uploads the batch, one blob per folder.
func (b *Blob) Write(ctx context.Context, msgs []message.Message) error {
	if err := b.ensureContainer(ctx); err != nil {
		return err
	}
	groups := map[string]*blobGroup{}
	var order []string
	for i, m := range msgs {
		p := BlobPath(b.o.PathTemplate, m)
		g, ok := groups[p]
		if !ok {
			g = &blobGroup{path: p}
			groups[p] = g
			order = append(order, p)
		}
		g.idx = append(g.idx, i)
	}
	sort.Strings(order)
	var be BatchError
	for _, p := range order {
		g := groups[p]
		var (
			body []byte
			err  error
		)
		for _, i := range g.idx {
			n := len(body)
			if body, err = message.AppendLine(body, msgs[i]); err != nil {
				body = body[:n]
				be.reject(i, err)
			}
		}
		first := msgs[g.idx[0]]
		name := fmt.Sprintf("%s/%s-%020d-%s.jsonl", strings.Trim(p, "/"), first.ReceivedAt.UTC().Format("20060102T150405Z"), first.Offset, b.o.Instance)
		headers := &blob.HTTPHeaders{BlobContentType: ptr("application/x-ndjson")}
		if b.o.Gzip {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			_, _ = zw.Write(body)
			_ = zw.Close()
			body = z.Bytes()
			name += ".gz"
			headers.BlobContentEncoding = ptr("gzip")
		}
		err = b.upload(ctx, name, body, headers)
		if err != nil && b.o.CreateContainer && bloberror.HasCode(err, bloberror.ContainerNotFound) {
			// deleted under us (or the emulator lost it): create it again and retry once
			b.once.Lock()
			b.created = false
			b.once.Unlock()
			if err = b.ensureContainer(ctx); err == nil {
				err = b.upload(ctx, name, body, headers)
			}
		}
		if err == nil {
			continue
		}
		permanent := isPermanentHTTP(err)
		for _, i := range g.idx {
			if _, rejected := be.Rejected[i]; rejected {
				continue
			}
			if permanent {
				be.reject(i, fmt.Errorf("blob %s: %w", name, err))
			} else {
				be.fail(i, fmt.Errorf("blob %s: %w", name, err))
			}
		}
	}
	if len(be.Failed) == len(msgs) {
		return fmt.Errorf("sink %s: upload: %w", b.name, be.Failed[0])
	}
	return be.orNil()
}

func (b *Blob) upload(ctx context.Context, name string, body []byte, headers *blob.HTTPHeaders) error {
	uctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	_, err := b.cl.UploadBuffer(uctx, b.o.Container, name, body, &azblob.UploadBufferOptions{HTTPHeaders: headers})
	return err
}

func (b *Blob) ensureContainer(ctx context.Context) error {
	if !b.o.CreateContainer {
		return nil
	}
	b.once.Lock()
	defer b.once.Unlock()
	if b.created {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	_, err := b.cl.CreateContainer(cctx, b.o.Container, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("sink %s: create container %s: %w", b.name, b.o.Container, err)
	}
	b.created = true
	return nil
}

// isPermanentHTTP is true for 4xx answers other than timeouts, throttling and auth
// (auth is a configuration or outage problem to retry, not a property of the data).
func isPermanentHTTP(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// Close releases nothing: the HTTP client is shared.
func (b *Blob) Close() error { return nil }

// Client is the underlying azblob client (tests read back what was written).
func (b *Blob) Client() *azblob.Client { return b.cl }

func ptr[T any](v T) *T { return &v }
