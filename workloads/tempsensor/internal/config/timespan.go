package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDelay reads a Go duration ("5s", "1ms") or a .NET TimeSpan as IoT Edge deployments
// write MessageDelay ("00:00:05", "00:00:00.001", "1.02:03:04"). A bare number is
// rejected: .NET reads "5" as five days, which is never what was meant.
func ParseDelay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if !strings.Contains(s, ":") {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("%q has no unit: write a Go duration (5s, 250ms) or a TimeSpan (00:00:05)", s)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is neither a Go duration (5s, 250ms) nor a TimeSpan (00:00:05)", s)
		}
		return d, nil
	}
	return parseTimeSpan(s)
}

// parseTimeSpan reads [-][d.]hh:mm[:ss[.fffffff]].
func parseTimeSpan(s string) (time.Duration, error) {
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("%q is not a TimeSpan [d.]hh:mm:ss[.fffffff]: %s", s, why)
	}
	rest, neg := strings.CutPrefix(s, "-")
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad("want two or three ':'-separated fields")
	}
	var days int64
	if d, h, ok := strings.Cut(parts[0], "."); ok {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 0 {
			return bad("days")
		}
		days, parts[0] = n, h
	}
	field := func(v string, max int64, name string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 || n > max || len(v) == 0 || len(v) > 2 {
			return 0, fmt.Errorf("%s %q out of range 0..%d", name, v, max)
		}
		return n, nil
	}
	h, err := field(parts[0], 23, "hours")
	if err != nil {
		return bad(err.Error())
	}
	m, err := field(parts[1], 59, "minutes")
	if err != nil {
		return bad(err.Error())
	}
	var sec, frac int64
	if len(parts) == 3 {
		ss, fs, hasFrac := strings.Cut(parts[2], ".")
		if sec, err = field(ss, 59, "seconds"); err != nil {
			return bad(err.Error())
		}
		if hasFrac {
			if len(fs) == 0 || len(fs) > 7 {
				return bad("fraction of a second has 1 to 7 digits")
			}
			n, err := strconv.ParseInt(fs, 10, 64)
			if err != nil || n < 0 {
				return bad("fraction of a second")
			}
			for i := len(fs); i < 9; i++ {
				n *= 10
			}
			frac = n
		}
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec)*time.Second + time.Duration(frac)
	if neg {
		d = -d
	}
	return d, nil
}

// delayValue is a flag.Value for ParseDelay.
type delayValue struct{ d *time.Duration }

func (v delayValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v delayValue) Set(s string) error {
	d, err := ParseDelay(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}
