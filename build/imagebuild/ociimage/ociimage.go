// Package ociimage assembles reproducible, daemonless OCI images for edgeframe's static
// workload binaries with go-containerregistry: a minimal root file system (passwd/group with
// the non-root user 65532, /tmp, the home directory), a CA certificates layer and the binary,
// every file with fixed owners, modes and time (the Unix epoch) and the config stamped with
// the build's SOURCE_DATE_EPOCH, so the same inputs always give the same digest.
// A multi-platform index (linux/amd64 + linux/arm64) carries the OCI labels as annotations.
package ociimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The non-root user every image runs as (distroless "nonroot").
const (
	UID      = 65532
	User     = "65532:65532"
	Home     = "/home/nonroot"
	BinDir   = "/usr/local/bin"
	CertFile = "/etc/ssl/certs/ca-certificates.crt"
)

// OCI annotation keys used as labels.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelTitle    = "org.opencontainers.image.title"
	LabelCreated  = "org.opencontainers.image.created"
	LabelLicenses = "org.opencontainers.image.licenses"
)

// Platform is a target OS/architecture.
type Platform struct {
	OS   string `json:"os"`
	Arch string `json:"architecture"`
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatform parses "linux/arm64".
func ParsePlatform(s string) (Platform, error) {
	os, arch, ok := strings.Cut(s, "/")
	if !ok || os == "" || arch == "" || strings.Contains(arch, "/") {
		return Platform{}, fmt.Errorf("platform %q: want os/arch, e.g. linux/arm64", s)
	}
	return Platform{OS: os, Arch: arch}, nil
}

// Spec describes the image of one workload.
type Spec struct {
	// Name is the workload; the entrypoint is /usr/local/bin/<Name>.
	Name string
	// Binaries maps each platform to the path of its static binary.
	Binaries map[Platform]string
	// Created stamps the config, the history and every file (SOURCE_DATE_EPOCH).
	Created time.Time
	// Labels are set on every image config and as index annotations.
	Labels map[string]string
	// CACerts is the PEM bundle written to /etc/ssl/certs/ca-certificates.crt.
	CACerts []byte
	// Args are appended after the entrypoint by default (CMD).
	Args []string
}

// Validate reports every problem at once.
func (s Spec) Validate() error {
	var errs []error
	if s.Name == "" || strings.ContainsAny(s.Name, "/ ") {
		errs = append(errs, fmt.Errorf("image spec: name %q: want a plain workload name", s.Name))
	}
	if len(s.Binaries) == 0 {
		errs = append(errs, errors.New("image spec: binaries: at least one platform required"))
	}
	for p, b := range s.Binaries {
		if p.OS == "" || p.Arch == "" {
			errs = append(errs, fmt.Errorf("image spec: binaries: platform %q incomplete", p))
		}
		if b == "" {
			errs = append(errs, fmt.Errorf("image spec: binaries[%s]: path required", p))
		}
	}
	if len(bytes.TrimSpace(s.CACerts)) == 0 {
		errs = append(errs, errors.New("image spec: caCerts: empty CA bundle"))
	} else if !bytes.Contains(s.CACerts, []byte("-----BEGIN CERTIFICATE-----")) {
		errs = append(errs, errors.New("image spec: caCerts: not a PEM certificate bundle"))
	}
	return errors.Join(errs...)
}

// Index builds the multi-platform index, platforms in name order.
func Index(s Spec) (v1.ImageIndex, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	platforms := make([]Platform, 0, len(s.Binaries))
	for p := range s.Binaries {
		platforms = append(platforms, p)
	}
	sort.Slice(platforms, func(i, j int) bool { return platforms[i].String() < platforms[j].String() })

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		bin, err := os.ReadFile(s.Binaries[p])
		if err != nil {
			return nil, fmt.Errorf("image %s %s: %w", s.Name, p, err)
		}
		img, err := Image(s, p, bin)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &v1.Platform{OS: p.OS, Architecture: p.Arch},
			},
		})
	}
	return mutate.Annotations(idx, s.annotations()).(v1.ImageIndex), nil
}

func (s Spec) annotations() map[string]string {
	a := map[string]string{LabelTitle: s.Name, LabelCreated: s.Created.UTC().Format(time.RFC3339)}
	for k, v := range s.Labels {
		a[k] = v
	}
	return a
}

// Image builds the image of one platform from the binary's bytes.
func Image(s Spec, p Platform, binary []byte) (v1.Image, error) {
	created := s.Created.UTC()
	base, err := layer(baseFiles())
	if err != nil {
		return nil, err
	}
	certs, err := layer(certFiles(s.CACerts))
	if err != nil {
		return nil, err
	}
	app, err := layer(appFiles(s.Name, binary))
	if err != nil {
		return nil, err
	}

	entry := path.Join(BinDir, s.Name)
	cfg := &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			User:       User,
			Entrypoint: []string{entry},
			Cmd:        s.Args,
			Env: []string{
				"PATH=/usr/local/bin:/usr/bin:/bin",
				"SSL_CERT_FILE=" + CertFile,
				"HOME=" + Home,
			},
			WorkingDir: Home,
			Labels:     s.annotations(),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("image %s %s: config: %w", s.Name, p, err)
	}
	hist := func(by string) v1.History {
		return v1.History{Created: v1.Time{Time: created}, CreatedBy: by, Comment: "edgeframe-images"}
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: hist("base: passwd/group for user 65532, /tmp, " + Home), MediaType: types.OCILayer},
		mutate.Addendum{Layer: certs, History: hist("ca-certificates: " + CertFile), MediaType: types.OCILayer},
		mutate.Addendum{Layer: app, History: hist("app: " + entry), MediaType: types.OCILayer},
	)
	if err != nil {
		return nil, fmt.Errorf("image %s %s: layers: %w", s.Name, p, err)
	}
	return img, nil
}

// file is one tar entry; the time is set by layer().
type file struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

func baseFiles() []file {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:65532:\n"
	return []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: UID, gid: UID, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
	}
}

func certFiles(pem []byte) []file {
	return []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(CertFile, "/"), mode: 0o644, data: pem},
	}
}

func appFiles(name string, bin []byte) []file {
	return []file{
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/bin/", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(path.Join(BinDir, name), "/"), mode: 0o755, data: bin},
	}
}

// epochFiles is the time every file carries; layers do not depend on Spec.Created so
// that an image rebuilt with another date keeps its layer digests (only the config moves).
var epochFiles = time.Unix(0, 0).UTC()

// layer writes files as a deterministic tar (fixed order, time, owners) and wraps it as
// a gzip-compressed OCI layer.
func layer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:     f.name,
			Mode:     f.mode,
			Uid:      f.uid,
			Gid:      f.gid,
			ModTime:  epochFiles,
			Format:   tar.FormatUSTAR,
			Typeflag: tar.TypeReg,
			Size:     int64(len(f.data)),
		}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	return plainLayer{l}, nil
}

// plainLayer hides the tarball layer's own descriptor (it carries an empty, non-nil
// annotations map that the serialised manifest drops), so the in-memory manifest equals
// the one a registry returns.
type plainLayer struct{ v1.Layer }

// File is one file of a Content image.
type File struct {
	// Path is the absolute path in the image.
	Path string
	// Mode is the permission bits (0o755 for executables).
	Mode int64
	Data []byte
}

// Content describes a single-platform image assembled from files that are not one static
// Go binary: a Debian package's executable with the shared libraries it links, or several
// binaries that a chart runs by path (/operator, /daprd). It gets the same base and CA layers
// as the workload images, then one layer with the files (parent directories added).
type Content struct {
	Name     string
	Platform Platform
	Created  time.Time
	CACerts  []byte
	Files    []File
	// Entrypoint and Cmd of the config; User defaults to User (65532:65532).
	Entrypoint, Cmd []string
	User            string
}

// ContentImage builds the image c describes.
func ContentImage(c Content) (v1.Image, error) {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("content image: name required"))
	}
	if c.Platform.OS == "" || c.Platform.Arch == "" {
		errs = append(errs, fmt.Errorf("content image %s: platform %q incomplete", c.Name, c.Platform))
	}
	if len(c.Files) == 0 {
		errs = append(errs, fmt.Errorf("content image %s: files: at least one required", c.Name))
	}
	for _, f := range c.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			errs = append(errs, fmt.Errorf("content image %s: file path %q: want a clean absolute path", c.Name, f.Path))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	user := c.User
	if user == "" {
		user = User
	}
	base, err := layer(baseFiles())
	if err != nil {
		return nil, err
	}
	certs, err := layer(certFiles(c.CACerts))
	if err != nil {
		return nil, err
	}
	files := append([]File(nil), c.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var entries []file
	dirs := map[string]bool{}
	for _, f := range files {
		rel := strings.TrimPrefix(f.Path, "/")
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if !dirs[d] {
				dirs[d] = true
				entries = append(entries, file{name: d, mode: 0o755, dir: true})
			}
		}
		entries = append(entries, file{name: rel, mode: f.Mode, data: f.Data})
	}
	content, err := layer(entries)
	if err != nil {
		return nil, err
	}
	created := c.Created.UTC()
	cfg := &v1.ConfigFile{
		Architecture: c.Platform.Arch,
		OS:           c.Platform.OS,
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			User:       user,
			Entrypoint: c.Entrypoint,
			Cmd:        c.Cmd,
			Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin", "SSL_CERT_FILE=" + CertFile, "HOME=" + Home},
			WorkingDir: "/",
			Labels:     map[string]string{LabelTitle: c.Name},
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("content image %s: config: %w", c.Name, err)
	}
	hist := func(by string) v1.History {
		return v1.History{Created: v1.Time{Time: created}, CreatedBy: by, Comment: "edgeframe-images"}
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: hist("base: passwd/group for user 65532, /tmp, " + Home), MediaType: types.OCILayer},
		mutate.Addendum{Layer: certs, History: hist("ca-certificates: " + CertFile), MediaType: types.OCILayer},
		mutate.Addendum{Layer: content, History: hist(fmt.Sprintf("content: %d files", len(files))), MediaType: types.OCILayer},
	)
	if err != nil {
		return nil, fmt.Errorf("content image %s: layers: %w", c.Name, err)
	}
	return img, nil
}
