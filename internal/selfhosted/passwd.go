package selfhosted

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// mosquitto 2.x password file hashing ("$7$": PBKDF2-HMAC-SHA512, 101 iterations,
// 12-byte salt, 64-byte key), the format mosquitto_passwd writes.
const (
	pwIterations = 101
	pwSaltLen    = 12
	pwKeyLen     = 64
)

// PasswordLine is one mosquitto password file line for user.
func PasswordLine(user, password string) (string, error) {
	if user == "" || strings.ContainsAny(user, ":\n") {
		return "", fmt.Errorf("passwd: user name %q is empty or contains ':' or a newline", user)
	}
	salt := make([]byte, pwSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passwd: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha512.New, password, salt, pwIterations, pwKeyLen)
	if err != nil {
		return "", fmt.Errorf("passwd: hash for %s: %w", user, err)
	}
	return fmt.Sprintf("%s:$7$%d$%s$%s", user, pwIterations,
		base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(key)), nil
}

// PasswordFile is the content of a mosquitto password file for users (name → password),
// in name order.
func PasswordFile(users map[string]string) (string, error) {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		line, err := PasswordLine(n, users[n])
		if err != nil {
			return "", err
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// RandomSecret is a URL-safe random password.
func RandomSecret() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
