//go:build !unix

package seqstore

import (
	"fmt"
	"os"
)

// lockFile creates path; without flock there is no protection against a second process.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	return f, nil
}
