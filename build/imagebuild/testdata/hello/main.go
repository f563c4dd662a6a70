// Command hello is the test entrypoint of the image tests: it prints its version, its
// user id and whether the CA bundle named by SSL_CERT_FILE is readable.
package main

import (
	"fmt"
	"os"

	"github.com/edgeframe/edgeframe/pkg/version"
)

func main() {
	_, err := os.ReadFile(os.Getenv("SSL_CERT_FILE"))
	fmt.Printf("hello version=%s uid=%d certs=%v args=%v\n", version.Version, os.Getuid(), err == nil, os.Args[1:])
}
