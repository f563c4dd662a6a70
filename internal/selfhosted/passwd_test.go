package selfhosted_test

import (
	"strings"
	"testing"

	"github.com/edgeframe/edgeframe/internal/selfhosted"
)

func TestPasswordLineIsMosquittoFormat(t *testing.T) {
	line, err := selfhosted.PasswordLine("alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(line, "$")
	if !strings.HasPrefix(line, "alice:$7$101$") || len(parts) != 5 {
		t.Fatalf("line %q is not user:$7$101$salt$hash", line)
	}
	if _, err := selfhosted.PasswordLine("a:b", "x"); err == nil {
		t.Fatal("a user name with ':' was accepted")
	}
}
