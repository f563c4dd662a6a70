// Package mixin_test checks the mixin release scripts (build/mixin).
package mixin_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type feed struct {
	Categories []struct {
		Term string `xml:"term,attr"`
	} `xml:"category"`
	Entries []struct {
		ID       string `xml:"id"`
		Category struct {
			Term string `xml:"term,attr"`
		} `xml:"category"`
		Content string `xml:"content"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

// TestFeedIsWhatPorterReads builds the release layout porter's feed generator
// walks and checks the atom feed `porter mixins install --feed-url` consumes.
func TestFeedIsWhatPorterReads(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		"arcflux/v0.1.0/arcflux-linux-amd64", "arcflux/v0.1.0/arcflux-darwin-arm64", "arcflux/v0.1.0/arcflux-windows-amd64.exe",
		"arcflux/v0.2.0/arcflux-linux-amd64",
		"arcflux/v0.0.0-dev+abc/arcflux-linux-amd64",    // not a release: skipped
		"arcflux/v0.2.0-3-gdeadbee/arcflux-linux-amd64", // untagged: skipped
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("bin"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("bash", "feed.sh", dir, "https://example.test/releases/").Output()
	if err != nil {
		t.Fatal(err)
	}
	var f feed
	if err := xml.Unmarshal(out, &f); err != nil {
		t.Fatalf("feed is not XML: %v\n%s", err, out)
	}
	if len(f.Categories) != 1 || f.Categories[0].Term != "arcflux" {
		t.Fatalf("categories %+v", f.Categories)
	}
	if len(f.Entries) != 2 {
		t.Fatalf("entries %d, want 2 (dev and untagged versions skipped):\n%s", len(f.Entries), out)
	}
	e := f.Entries[0]
	if e.Category.Term != "arcflux" || e.Content != "v0.1.0" || len(e.Links) != 3 {
		t.Fatalf("entry %+v", e)
	}
	var hrefs []string
	for _, l := range e.Links {
		if l.Rel != "download" {
			t.Fatalf("link rel %q", l.Rel)
		}
		hrefs = append(hrefs, l.Href)
	}
	got := strings.Join(hrefs, " ")
	for _, want := range []string{
		"https://example.test/releases/v0.1.0/arcflux-linux-amd64",
		"https://example.test/releases/v0.1.0/arcflux-darwin-arm64",
		"https://example.test/releases/v0.1.0/arcflux-windows-amd64.exe",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("links %s lack %s", got, want)
		}
	}
}
