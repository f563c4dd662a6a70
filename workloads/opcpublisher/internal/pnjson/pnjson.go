// Package pnjson reads OPC Publisher's publishednodes.json: an array of entries, each
// naming an endpoint, its security and user, the data set writer (group, id, publishing
// interval, key frame count) and the nodes to monitor.
//
// Parse validates the whole file at once: every problem is reported (entry index and
// field named), unknown fields are warnings, and the valid entries are returned so they
// still run while the invalid ones are fixed.
package pnjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgeframe/edgeframe/workloads/opcpublisher/internal/nodeid"
)

// Security modes (EndpointSecurityMode).
const (
	ModeNone           = "None"
	ModeSign           = "Sign"
	ModeSignAndEncrypt = "SignAndEncrypt"
	ModeBest           = "Best"
)

// Authentication modes (OpcAuthenticationMode).
const (
	AuthAnonymous        = "Anonymous"
	AuthUsernamePassword = "UsernamePassword"
)

// Defaults OPC Publisher applies.
const (
	DefaultGroup              = "default"
	DefaultSamplingInterval   = time.Second
	DefaultPublishingInterval = time.Second
	DefaultQueueSize          = 1
)

// Entry is one valid publishednodes.json entry with defaults applied.
type Entry struct {
	// Index is the entry's position in the file (0-based), for messages.
	Index          int
	EndpointURL    string
	UseSecurity    bool
	SecurityMode   string // None, Sign, SignAndEncrypt, Best
	SecurityPolicy string // policy name (Basic256Sha256) or URI; "" = best available
	AuthMode       string // Anonymous or UsernamePassword
	Username       string
	Password       string
	// WriterGroup names the network message stream and the topic; default "default".
	WriterGroup string
	// WriterID identifies the data set writer in the group; default derived from the
	// endpoint and publishing interval, as OPC Publisher does.
	WriterID string
	// PublishingInterval is DataSetPublishingInterval (0 = per node / default).
	PublishingInterval time.Duration
	// KeyFrameCount is DataSetKeyFrameCount: every n-th data set message is a key
	// frame (0 = only the first).
	KeyFrameCount int
	Nodes         []Node
	// writerIDSet: DataSetWriterId was given; otherwise the entry's nodes form one writer
	// per publishing interval, each named <EndpointUrl>_<interval ms>.
	writerIDSet bool
}

// Node is one OpcNodes item.
type Node struct {
	ID                 nodeid.ID
	RawID              string
	DisplayName        string
	SamplingInterval   time.Duration
	PublishingInterval time.Duration // resolved: node, else entry, else default
	Heartbeat          time.Duration
	QueueSize          uint32
	DataChangeTrigger  string // Status, StatusValue (default), StatusValueTimestamp
	DeadbandType       string // "", Absolute, Percent
	DeadbandValue      float64
	// IndexRange (OPC 10000-4 §7.27) monitors part of an array or string value.
	IndexRange string
	// DiscardNew keeps the oldest values when the server's queue is full (OPC UA
	// DiscardOldest = false).
	DiscardNew bool
}

// FieldName is the payload key of the node: DisplayName, else the id as written.
func (n Node) FieldName() string {
	if n.DisplayName != "" {
		return n.DisplayName
	}
	return n.RawID
}

// SessionKey identifies the session an entry needs: one per endpoint + security + user.
func (e Entry) SessionKey() string {
	return strings.Join([]string{e.EndpointURL, e.SecurityMode, e.SecurityPolicy, e.AuthMode, e.Username}, "|")
}

// File is the result of Parse.
type File struct {
	Entries  []Entry
	Warnings []string
}

// EntryError is a problem of one entry; Field names the JSON field (with node index).
type EntryError struct {
	Index int
	Field string
	Err   error
}

func (e *EntryError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("publishednodes.json: %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("publishednodes.json: entry %d: %s: %v", e.Index, e.Field, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }

var (
	entryFields = fieldSet("EndpointUrl", "UseSecurity", "EndpointSecurityMode", "EndpointSecurityPolicy",
		"OpcAuthenticationMode", "OpcAuthenticationUsername", "OpcAuthenticationPassword",
		"DataSetWriterGroup", "DataSetWriterId", "DataSetPublishingInterval", "DataSetPublishingIntervalTimespan",
		"DataSetKeyFrameCount", "OpcNodes")
	nodeFields = fieldSet("Id", "ExpandedNodeId", "DisplayName", "OpcSamplingInterval", "OpcSamplingIntervalTimespan",
		"OpcPublishingInterval", "OpcPublishingIntervalTimespan", "HeartbeatInterval", "HeartbeatIntervalTimespan",
		"QueueSize", "DataChangeTrigger", "DeadbandType", "DeadbandValue",
		"AttributeId", "IndexRange", "DiscardNew", "SkipFirst", "UseCyclicRead")
	// indexRangeRE is OPC 10000-4 §7.27 NumericRange: dimensions of n or n:m.
	indexRangeRE = regexp.MustCompile(`^\d+(:\d+)?(,\d+(:\d+)?)*$`)
	// nameRE: group and writer names go into topics and CloudEvent ids.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9._~:@-]{1,128}$`)
)

func fieldSet(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}

// Parse reads and validates a publishednodes.json. It returns the valid entries and the
// warnings; err joins every problem found (each an *EntryError). A file that is not a
// JSON array yields no entries.
func Parse(b []byte) (*File, error) {
	var raw []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return &File{}, &EntryError{Index: -1, Field: "(file)", Err: fmt.Errorf("want a JSON array of entries: %w", err)}
	}
	if dec.More() {
		return &File{}, &EntryError{Index: -1, Field: "(file)", Err: errors.New("trailing data after the array")}
	}
	f := &File{}
	var errs []error
	for i, r := range raw {
		e, warns, problems, dropped := parseEntry(i, r)
		f.Warnings = append(f.Warnings, warns...)
		// A node with a problem is dropped and reported; the entry runs with the rest.
		errs = append(errs, dropped...)
		if len(problems) > 0 {
			errs = append(errs, problems...)
			continue
		}
		f.Entries = append(f.Entries, splitByInterval(e)...)
	}
	f.Entries, errs = mergeWriters(f.Entries, errs)
	return f, errors.Join(errs...)
}

// fields decodes a JSON object into its members by canonical (case-insensitive) name.
type fields struct {
	m    map[string]json.RawMessage
	errs []error
	// dropped: problems of nodes, which drop the node but not the entry
	dropped []error
	index   int
	prefix  string
	warns   []string
}

func newFields(index int, prefix string, r json.RawMessage, known map[string]string) (*fields, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r, &m); err != nil || m == nil {
		return nil, errors.New("want a JSON object")
	}
	f := &fields{m: map[string]json.RawMessage{}, index: index, prefix: prefix}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		canon, ok := known[strings.ToLower(k)]
		if !ok {
			f.warns = append(f.warns, fmt.Sprintf("publishednodes.json: entry %d: %s%s: unknown field, ignored", index, prefix, k))
			continue
		}
		f.m[canon] = m[k]
	}
	return f, nil
}

func (f *fields) fail(field string, err error) {
	f.errs = append(f.errs, &EntryError{Index: f.index, Field: f.prefix + field, Err: err})
}

func (f *fields) has(name string) bool {
	v, ok := f.m[name]
	return ok && string(v) != "null"
}

func (f *fields) str(name string) string {
	if !f.has(name) {
		return ""
	}
	var s string
	if err := json.Unmarshal(f.m[name], &s); err != nil {
		f.fail(name, fmt.Errorf("want a string, got %s", short(f.m[name])))
	}
	return s
}

func (f *fields) boolean(name string) bool {
	if !f.has(name) {
		return false
	}
	var v bool
	if err := json.Unmarshal(f.m[name], &v); err != nil {
		f.fail(name, fmt.Errorf("want true or false, got %s", short(f.m[name])))
	}
	return v
}

func (f *fields) number(name string) (float64, bool) {
	if !f.has(name) {
		return 0, false
	}
	var v float64
	if err := json.Unmarshal(f.m[name], &v); err != nil {
		// OPC Publisher also accepts numbers written as strings.
		var s string
		if json.Unmarshal(f.m[name], &s) == nil {
			if p, perr := strconv.ParseFloat(strings.TrimSpace(s), 64); perr == nil {
				return p, true
			}
		}
		f.fail(name, fmt.Errorf("want a number, got %s", short(f.m[name])))
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		f.fail(name, fmt.Errorf("want a finite number"))
		return 0, false
	}
	return v, true
}

// interval reads "<name>" (a number of unit) or "<name>Timespan" (a .NET TimeSpan
// string "[d.]hh:mm:ss[.fffffff]"); the Timespan form wins when both are given.
func (f *fields) interval(name string, unit time.Duration) time.Duration {
	if f.has(name + "Timespan") {
		s := f.str(name + "Timespan")
		d, err := ParseTimespan(s)
		if err != nil {
			f.fail(name+"Timespan", err)
			return 0
		}
		return d
	}
	v, ok := f.number(name)
	if !ok {
		return 0
	}
	if v < 0 || v*float64(unit) > float64(24*time.Hour) {
		f.fail(name, fmt.Errorf("want 0..%d, got %v", int64(24*time.Hour/unit), v))
		return 0
	}
	return time.Duration(v * float64(unit))
}

func short(r json.RawMessage) string {
	s := string(r)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

var timespanRE = regexp.MustCompile(`^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$`)

// ParseTimespan reads a .NET TimeSpan in the constant ("c") format, e.g. "00:00:01.5".
func ParseTimespan(s string) (time.Duration, error) {
	m := timespanRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a timespan [d.]hh:mm:ss[.fffffff]", s)
	}
	if m[1] == "-" {
		return 0, fmt.Errorf("%q is negative", s)
	}
	atoi := func(x string) int64 { n, _ := strconv.ParseInt(x, 10, 64); return n }
	h, mi, se := atoi(m[3]), atoi(m[4]), atoi(m[5])
	if h > 23 || mi > 59 || se > 59 {
		return 0, fmt.Errorf("%q: hours, minutes or seconds out of range", s)
	}
	days := atoi(m[2])
	if days > 365 {
		return 0, fmt.Errorf("%q: more than 365 days", s)
	}
	frac := m[6] + strings.Repeat("0", 7-len(m[6]))
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute +
		time.Duration(se)*time.Second + time.Duration(atoi(frac))*100
	return d, nil
}

func parseEntry(i int, r json.RawMessage) (Entry, []string, []error, []error) {
	f, err := newFields(i, "", r, entryFields)
	if err != nil {
		return Entry{}, nil, []error{&EntryError{Index: i, Field: "(entry)", Err: err}}, nil
	}
	e := Entry{Index: i}
	e.EndpointURL = f.str("EndpointUrl")
	switch u, err := url.Parse(e.EndpointURL); {
	case e.EndpointURL == "":
		f.fail("EndpointUrl", errors.New("required"))
	case err != nil:
		f.fail("EndpointUrl", err)
	case u.Scheme != "opc.tcp" || u.Host == "":
		f.fail("EndpointUrl", fmt.Errorf("%q: want opc.tcp://host:port[/path]", e.EndpointURL))
	}
	e.UseSecurity = f.boolean("UseSecurity")
	e.SecurityMode = f.str("EndpointSecurityMode")
	switch {
	case e.SecurityMode == "" && e.UseSecurity:
		e.SecurityMode = ModeBest
	case e.SecurityMode == "":
		e.SecurityMode = ModeNone
	default:
		e.SecurityMode = oneOf(f, "EndpointSecurityMode", e.SecurityMode, ModeNone, ModeSign, ModeSignAndEncrypt, ModeBest)
	}
	e.SecurityPolicy = f.str("EndpointSecurityPolicy")
	if p := e.SecurityPolicy; p != "" {
		short := p[strings.LastIndex(p, "#")+1:]
		switch short {
		case "None", "Basic128Rsa15", "Basic256", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss":
			e.SecurityPolicy = short
		default:
			f.fail("EndpointSecurityPolicy", fmt.Errorf("unknown policy %q (want None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss, Basic256, Basic128Rsa15 or its URI)", p))
		}
	}
	if e.SecurityMode == ModeNone && e.SecurityPolicy != "" && e.SecurityPolicy != "None" {
		f.fail("EndpointSecurityPolicy", fmt.Errorf("policy %s needs EndpointSecurityMode Sign or SignAndEncrypt, not None", e.SecurityPolicy))
	}
	e.AuthMode = f.str("OpcAuthenticationMode")
	if e.AuthMode == "" {
		e.AuthMode = AuthAnonymous
	} else {
		e.AuthMode = oneOf(f, "OpcAuthenticationMode", e.AuthMode, AuthAnonymous, AuthUsernamePassword)
	}
	e.Username = f.str("OpcAuthenticationUsername")
	e.Password = f.str("OpcAuthenticationPassword")
	if e.AuthMode == AuthUsernamePassword && e.Username == "" {
		f.fail("OpcAuthenticationUsername", errors.New("required when OpcAuthenticationMode is UsernamePassword"))
	}
	e.WriterGroup = f.str("DataSetWriterGroup")
	if e.WriterGroup == "" {
		e.WriterGroup = DefaultGroup
	} else if !nameRE.MatchString(e.WriterGroup) {
		f.fail("DataSetWriterGroup", fmt.Errorf("%q: want 1-128 of A-Z a-z 0-9 . _ ~ : @ - (it becomes a topic level and part of the message id)", e.WriterGroup))
	}
	e.PublishingInterval = f.interval("DataSetPublishingInterval", time.Millisecond)
	if v, ok := f.number("DataSetKeyFrameCount"); ok {
		if v < 0 || v != math.Trunc(v) || v > math.MaxInt32 {
			f.fail("DataSetKeyFrameCount", fmt.Errorf("want a whole number >= 0, got %v", v))
		}
		e.KeyFrameCount = int(v)
	}
	e.WriterID = f.str("DataSetWriterId")
	e.writerIDSet = e.WriterID != ""
	if e.WriterID == "" {
		e.WriterID = defaultWriterID(e.EndpointURL, e.PublishingInterval)
	} else if len(e.WriterID) > 256 || strings.ContainsAny(e.WriterID, "\x00\n") {
		f.fail("DataSetWriterId", fmt.Errorf("%q: want at most 256 printable characters", short(json.RawMessage(e.WriterID))))
	}
	if !f.has("OpcNodes") {
		f.fail("OpcNodes", errors.New("required: at least one node"))
	} else {
		var nodes []json.RawMessage
		if err := json.Unmarshal(f.m["OpcNodes"], &nodes); err != nil {
			f.fail("OpcNodes", errors.New("want an array of nodes"))
		} else if len(nodes) == 0 {
			f.fail("OpcNodes", errors.New("empty: at least one node"))
		}
		seen := map[string]int{}
		for j, nr := range nodes {
			n, ok := parseNode(f, j, nr, e.PublishingInterval)
			if !ok {
				continue
			}
			key := n.ID.String() + "|" + n.FieldName()
			if k, dup := seen[key]; dup {
				f.dropped = append(f.dropped, &EntryError{Index: i, Field: fmt.Sprintf("OpcNodes[%d].Id", j),
					Err: fmt.Errorf("%s duplicates OpcNodes[%d]; node dropped", n.RawID, k)})
				continue
			}
			seen[key] = j
			e.Nodes = append(e.Nodes, n)
		}
		if len(nodes) > 0 && len(e.Nodes) == 0 {
			f.fail("OpcNodes", errors.New("no valid node"))
		}
	}
	return e, f.warns, f.errs, f.dropped
}

func oneOf(f *fields, field, v string, allowed ...string) string {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a
		}
	}
	f.fail(field, fmt.Errorf("%q: want one of %s", v, strings.Join(allowed, ", ")))
	return v
}

func parseNode(ef *fields, j int, r json.RawMessage, entryInterval time.Duration) (Node, bool) {
	prefix := fmt.Sprintf("OpcNodes[%d].", j)
	f, err := newFields(ef.index, prefix, r, nodeFields)
	if err != nil {
		ef.fail(fmt.Sprintf("OpcNodes[%d]", j), err)
		return Node{}, false
	}
	defer func() {
		ef.warns = append(ef.warns, f.warns...)
		for _, err := range f.errs {
			ef.dropped = append(ef.dropped, fmt.Errorf("%w; node dropped", err))
		}
	}()
	n := Node{RawID: f.str("Id")}
	if n.RawID == "" {
		n.RawID = f.str("ExpandedNodeId")
	}
	if n.RawID == "" {
		f.fail("Id", errors.New("required"))
	} else if id, err := nodeid.Parse(n.RawID); err != nil {
		f.fail("Id", err)
	} else {
		n.ID = id
	}
	n.DisplayName = f.str("DisplayName")
	n.SamplingInterval = f.interval("OpcSamplingInterval", time.Millisecond)
	if !f.has("OpcSamplingInterval") && !f.has("OpcSamplingIntervalTimespan") {
		n.SamplingInterval = DefaultSamplingInterval
	}
	n.PublishingInterval = f.interval("OpcPublishingInterval", time.Millisecond)
	if n.PublishingInterval == 0 {
		n.PublishingInterval = entryInterval
	}
	if n.PublishingInterval == 0 {
		n.PublishingInterval = DefaultPublishingInterval
	}
	n.Heartbeat = f.interval("HeartbeatInterval", time.Second)
	n.QueueSize = DefaultQueueSize
	if v, ok := f.number("QueueSize"); ok {
		if v < 0 || v != math.Trunc(v) || v > math.MaxUint32 {
			f.fail("QueueSize", fmt.Errorf("want a whole number 0..%d, got %v", uint32(math.MaxUint32), v))
		} else if v > 0 {
			n.QueueSize = uint32(v)
		}
	}
	n.DataChangeTrigger = "StatusValue"
	if s := f.str("DataChangeTrigger"); s != "" {
		n.DataChangeTrigger = oneOf(f, "DataChangeTrigger", s, "Status", "StatusValue", "StatusValueTimestamp")
	}
	if s := f.str("DeadbandType"); s != "" {
		n.DeadbandType = oneOf(f, "DeadbandType", s, "Absolute", "Percent")
	}
	if v, ok := f.number("DeadbandValue"); ok {
		n.DeadbandValue = v
		switch {
		case n.DeadbandType == "":
			f.fail("DeadbandValue", errors.New("set DeadbandType (Absolute or Percent) as well"))
		case v < 0:
			f.fail("DeadbandValue", fmt.Errorf("want >= 0, got %v", v))
		case n.DeadbandType == "Percent" && v > 100:
			f.fail("DeadbandValue", fmt.Errorf("a percent deadband must be 0..100, got %v", v))
		}
	}
	// OPC Publisher's options that change what is monitored: honoured or refused
	// (the node is dropped with the reason), never ignored.
	if f.has("AttributeId") {
		var v any
		_ = json.Unmarshal(f.m["AttributeId"], &v)
		switch v {
		case "Value", "value", "13", 13.0:
		default:
			f.fail("AttributeId", fmt.Errorf("%s: not supported, only Value (13) is monitored", short(f.m["AttributeId"])))
		}
	}
	if n.IndexRange = f.str("IndexRange"); n.IndexRange != "" && !indexRangeRE.MatchString(n.IndexRange) {
		f.fail("IndexRange", fmt.Errorf("%q: want a NumericRange such as 2, 0:4 or 1:2,0:3", n.IndexRange))
	}
	n.DiscardNew = f.boolean("DiscardNew")
	if f.boolean("SkipFirst") {
		f.fail("SkipFirst", errors.New("true is not supported: the first value is always published"))
	}
	if f.boolean("UseCyclicRead") {
		f.fail("UseCyclicRead", errors.New("true is not supported: values come from a subscription, not cyclic reads"))
	}
	return n, len(f.errs) == 0
}

func defaultWriterID(endpoint string, interval time.Duration) string {
	return endpoint + "_" + strconv.FormatInt(interval.Milliseconds(), 10)
}

// splitByInterval gives an entry without DataSetWriterId one writer per publishing
// interval of its nodes, named <EndpointUrl>_<interval ms> as OPC Publisher does.
func splitByInterval(e Entry) []Entry {
	if e.writerIDSet {
		return []Entry{e}
	}
	var out []Entry
	at := map[time.Duration]int{}
	for _, n := range e.Nodes {
		k, ok := at[n.PublishingInterval]
		if !ok {
			k = len(out)
			at[n.PublishingInterval] = k
			w := e
			w.Nodes = nil
			w.WriterID = defaultWriterID(e.EndpointURL, n.PublishingInterval)
			out = append(out, w)
		}
		out[k].Nodes = append(out[k].Nodes, n)
	}
	return out
}

// mergeWriters joins entries that name the same writer (group + id), as OPC Publisher
// does; an entry whose writer already exists on another endpoint or security is an error.
func mergeWriters(entries []Entry, errs []error) ([]Entry, []error) {
	var out []Entry
	byWriter := map[string]int{}
	for _, e := range entries {
		key := e.WriterGroup + "\x00" + e.WriterID
		k, ok := byWriter[key]
		if !ok {
			byWriter[key] = len(out)
			out = append(out, e)
			continue
		}
		first := &out[k]
		if first.SessionKey() != e.SessionKey() || first.Password != e.Password {
			errs = append(errs, &EntryError{Index: e.Index, Field: "DataSetWriterId",
				Err: fmt.Errorf("writer %q in group %q is already defined by entry %d with another endpoint, security or user", e.WriterID, e.WriterGroup, first.Index)})
			continue
		}
		first.Nodes = append(first.Nodes, e.Nodes...)
	}
	return out, errs
}
