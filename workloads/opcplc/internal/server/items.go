package server

import (
	"math"
	"reflect"
	"time"

	"github.com/gopcua/opcua/ua"
)

// monitoredItem is one monitored item (OPC 10000-4 §5.12.1). Its state is guarded by
// the owning subscription's mu.
type monitoredItem struct {
	id, handle uint32
	sub        *subscription
	nodeID     *ua.NodeID
	attr       ua.AttributeID
	indexRange string // NumericRange applied to every sample
	simID      string // plc key, set when the item watches the Value of a simulated variable
	ts         ua.TimestampsToReturn
	mode       ua.MonitoringMode
	interval   time.Duration // revised sampling interval; 0 = every change
	queueSize  uint32
	discardOld bool
	trigger    ua.DataChangeTrigger
	deadband   float64 // absolute deadband; 0 = none

	last       *ua.DataValue // last value that passed the filter
	lastSample time.Time
	pending    bool // a change arrived before the sampling interval was over
	queue      []*ua.DataValue
}

const (
	maxQueueSize  = 10000
	minPolled     = 50 * time.Millisecond // nodes without change events are polled at most this often
	overflowBits  = ua.StatusCode(0x0480) // InfoType DataValue | Overflow (OPC 10000-4 §7.39.1)
	maxSampleTick = 100 * time.Millisecond
	minSampleTick = 5 * time.Millisecond
)

// jitter is how early a change may arrive and still count as the next sample.
func jitter(interval time.Duration) time.Duration { return min(interval/5, 20*time.Millisecond) }

func (s *Server) reviseItem(sub *subscription, it *monitoredItem, p *ua.MonitoringParameters) ua.StatusCode {
	trigger, deadband := ua.DataChangeTriggerStatusValue, 0.0
	if p.Filter != nil && p.Filter.Value != nil {
		f, ok := p.Filter.Value.(*ua.DataChangeFilter)
		switch {
		case !ok:
			return ua.StatusBadMonitoredItemFilterUnsupported
		case it.attr != ua.AttributeIDValue:
			return ua.StatusBadFilterNotAllowed
		case f.Trigger > ua.DataChangeTriggerStatusValueTimestamp:
			return ua.StatusBadMonitoredItemFilterInvalid
		case ua.DeadbandType(f.DeadbandType) == ua.DeadbandTypePercent:
			return ua.StatusBadMonitoredItemFilterUnsupported // needs an EURange, which no simulated node has
		case ua.DeadbandType(f.DeadbandType) == ua.DeadbandTypeAbsolute:
			if f.DeadbandValue < 0 {
				return ua.StatusBadDeadbandFilterInvalid
			}
			if v := s.readValue(it.nodeID, ua.AttributeIDValue); v.Value != nil && !numeric(v.Value.Value()) {
				return ua.StatusBadFilterNotAllowed
			}
			deadband = f.DeadbandValue
		case f.DeadbandType != 0:
			return ua.StatusBadDeadbandFilterInvalid
		}
		trigger = f.Trigger
	}
	interval := time.Duration(p.SamplingInterval * float64(time.Millisecond))
	switch {
	case p.SamplingInterval < 0:
		interval = sub.interval
	case it.simID == "":
		interval = max(interval, minPolled)
	default:
		interval = max(interval, s.cfg.MinSampling)
	}
	qs := min(max(p.QueueSize, 1), maxQueueSize)
	it.handle, it.interval, it.queueSize, it.discardOld, it.trigger, it.deadband = p.ClientHandle, interval, qs, p.DiscardOldest, trigger, deadband
	for uint32(len(it.queue)) > qs {
		it.queue = it.queue[1:]
		if it.mode == ua.MonitoringModeReporting {
			sub.queued--
		}
	}
	return ua.StatusOK
}

func numeric(v any) bool {
	switch v.(type) {
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64,
		[]int8, []int16, []int32, []int64, []uint8, []uint16, []uint32, []uint64, []float32, []float64:
		return true
	}
	return false
}

func (s *Server) index(it *monitoredItem) {
	if it.simID != "" {
		s.byNode[it.simID] = append(s.byNode[it.simID], it)
	}
}

func (s *Server) unindex(it *monitoredItem) {
	if it.simID == "" {
		return
	}
	list := s.byNode[it.simID]
	for i, x := range list {
		if x == it {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.byNode, it.simID)
	} else {
		s.byNode[it.simID] = list
	}
}

func (s *Server) createMonitoredItems(sub *subscription, req *ua.CreateMonitoredItemsRequest) (ua.Response, error) {
	if len(req.ItemsToCreate) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	if req.TimestampsToReturn > ua.TimestampsToReturnNeither {
		return fault(req, ua.StatusBadTimestampsToReturnInvalid)
	}
	results := make([]*ua.MonitoredItemCreateResult, len(req.ItemsToCreate))
	now := time.Now()
	created := 0
	s.mu.Lock()
	sub.mu.Lock()
	for i, ir := range req.ItemsToCreate {
		res := &ua.MonitoredItemCreateResult{FilterResult: ua.NewExtensionObject(nil)}
		results[i] = res
		if ir == nil || ir.ItemToMonitor == nil || ir.ItemToMonitor.NodeID == nil || ir.RequestedParameters == nil {
			res.StatusCode = ua.StatusBadNodeIDInvalid
			continue
		}
		it := &monitoredItem{sub: sub, nodeID: ir.ItemToMonitor.NodeID, attr: ir.ItemToMonitor.AttributeID, indexRange: ir.ItemToMonitor.IndexRange,
			ts: req.TimestampsToReturn, mode: ir.MonitoringMode}
		if dv := s.readValue(it.nodeID, it.attr); dv.Status == ua.StatusBadNodeIDUnknown || dv.Status == ua.StatusBadNodeIDInvalid || dv.Status == ua.StatusBadAttributeIDInvalid {
			res.StatusCode = dv.Status
			continue
		}
		if _, code := parseRange(it.indexRange); code != ua.StatusOK {
			res.StatusCode = code
			continue
		}
		if n := s.ns.lookup(it.nodeID); n != nil && n.Variable() && it.attr == ua.AttributeIDValue {
			it.simID = n.Key()
		}
		if c := s.reviseItem(sub, it, ir.RequestedParameters); c != ua.StatusOK {
			res.StatusCode = c
			continue
		}
		for s.nextItem++; s.nextItem == 0; s.nextItem++ {
		}
		it.id = s.nextItem
		sub.items[it.id] = it
		s.index(it)
		if it.mode != ua.MonitoringModeDisabled {
			sub.sample(it, now, true)
		}
		created++
		res.StatusCode, res.MonitoredItemID = ua.StatusOK, it.id
		res.RevisedSamplingInterval, res.RevisedQueueSize = ms(it.interval), it.queueSize
	}
	sub.retick()
	sub.mu.Unlock()
	s.mu.Unlock()
	s.m.items.Add(float64(created))
	return &ua.CreateMonitoredItemsResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) modifyMonitoredItems(sub *subscription, req *ua.ModifyMonitoredItemsRequest) (ua.Response, error) {
	if len(req.ItemsToModify) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	results := make([]*ua.MonitoredItemModifyResult, len(req.ItemsToModify))
	sub.mu.Lock()
	for i, m := range req.ItemsToModify {
		res := &ua.MonitoredItemModifyResult{FilterResult: ua.NewExtensionObject(nil)}
		results[i] = res
		it := sub.items[m.MonitoredItemID]
		if it == nil || m.RequestedParameters == nil {
			res.StatusCode = ua.StatusBadMonitoredItemIDInvalid
			continue
		}
		if c := s.reviseItem(sub, it, m.RequestedParameters); c != ua.StatusOK {
			res.StatusCode = c
			continue
		}
		it.ts = req.TimestampsToReturn
		res.RevisedSamplingInterval, res.RevisedQueueSize = ms(it.interval), it.queueSize
	}
	sub.retick()
	sub.mu.Unlock()
	return &ua.ModifyMonitoredItemsResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) setMonitoringMode(sub *subscription, req *ua.SetMonitoringModeRequest) (ua.Response, error) {
	if len(req.MonitoredItemIDs) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	now := time.Now()
	sub.mu.Lock()
	results := sub.eachItem(req.MonitoredItemIDs, func(it *monitoredItem) {
		was := it.mode
		if was == ua.MonitoringModeReporting {
			sub.queued -= len(it.queue)
		}
		it.mode = req.MonitoringMode
		switch {
		case it.mode == ua.MonitoringModeDisabled:
			it.queue, it.last, it.pending = nil, nil, false
		case was == ua.MonitoringModeDisabled:
			sub.sample(it, now, true)
		}
		if it.mode == ua.MonitoringModeReporting {
			sub.queued += len(it.queue)
		}
	})
	sub.mu.Unlock()
	return &ua.SetMonitoringModeResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func (s *Server) deleteMonitoredItems(sub *subscription, req *ua.DeleteMonitoredItemsRequest) (ua.Response, error) {
	if len(req.MonitoredItemIDs) == 0 {
		return fault(req, ua.StatusBadNothingToDo)
	}
	deleted := 0
	s.mu.Lock()
	sub.mu.Lock()
	results := sub.eachItem(req.MonitoredItemIDs, func(it *monitoredItem) {
		if it.mode == ua.MonitoringModeReporting {
			sub.queued -= len(it.queue)
		}
		delete(sub.items, it.id)
		s.unindex(it)
		deleted++
	})
	sub.retick()
	sub.mu.Unlock()
	s.mu.Unlock()
	s.m.items.Sub(float64(deleted))
	return &ua.DeleteMonitoredItemsResponse{ResponseHeader: header(req.RequestHeader.RequestHandle, ua.StatusOK), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

// eachItem applies f to each item of sub that ids names. The result of an id is Good,
// or BadMonitoredItemIDInvalid when sub has no such item. Called with sub.mu held.
func (sub *subscription) eachItem(ids []uint32, f func(it *monitoredItem)) []ua.StatusCode {
	results := make([]ua.StatusCode, len(ids))
	for i, id := range ids {
		it := sub.items[id]
		if it == nil {
			results[i] = ua.StatusBadMonitoredItemIDInvalid
			continue
		}
		f(it)
	}
	return results
}

// retick sets the sampler period from the shortest sampling interval of the items.
// Called with sub.mu held.
func (sub *subscription) retick() {
	d := maxSampleTick
	for _, it := range sub.items {
		if it.interval > 0 {
			d = min(d, it.interval/5)
		}
	}
	d = max(d, minSampleTick)
	if d != sub.sampleDur {
		sub.sampleDur = d
		sub.sampler.Reset(d)
	}
}

// onSimChange is called by the simulation with the variables that just changed and
// the step's time, which is the sampling clock of simulated items: a step that the
// simulation runs late still counts as sampled at its own time.
func (s *Server) onSimChange(ids []string, now time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range ids {
		for _, it := range s.byNode[id] {
			it.sub.changed(it, now)
		}
	}
}

func (sub *subscription) changed(it *monitoredItem, now time.Time) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if it.mode == ua.MonitoringModeDisabled || sub.items[it.id] != it {
		return
	}
	if it.interval == 0 || now.Sub(it.lastSample) >= it.interval-jitter(it.interval) {
		sub.sample(it, now, false)
		return
	}
	it.pending = true
}

// resample samples the polled items that are due and the items with a change that
// arrived early; with initial every item is sampled and reported afresh.
func (sub *subscription) resample(now time.Time, initial bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for _, it := range sub.items {
		if it.mode == ua.MonitoringModeDisabled {
			continue
		}
		due := now.Sub(it.lastSample) >= it.interval-jitter(it.interval)
		switch {
		case initial:
			sub.sample(it, now, true)
		case it.pending && due:
			sub.sample(it, now, false)
		case it.simID == "" && it.attr == ua.AttributeIDValue && due:
			sub.sample(it, now, false)
		}
	}
}

// sample reads the item's node, applies the data change filter and queues the value.
// Called with sub.mu held.
func (sub *subscription) sample(it *monitoredItem, now time.Time, force bool) {
	var dv *ua.DataValue
	if it.simID != "" {
		v, _ := sub.srv.sim.Value(it.simID)
		dv = simValue(v)
	} else {
		dv = sub.srv.readValue(it.nodeID, it.attr)
	}
	if it.indexRange != "" && dv.Status == ua.StatusOK {
		dv = applyRange(dv, it.indexRange)
	}
	it.lastSample, it.pending = now, false
	if !force && !it.passes(dv) {
		return
	}
	it.last = dv
	sub.enqueue(it, withTimestamps(dv, it.ts))
}

// passes applies the DataChangeFilter (OPC 10000-4 §7.22.2) against the last value.
func (it *monitoredItem) passes(dv *ua.DataValue) bool {
	last := it.last
	if last == nil || last.Status != dv.Status {
		return true
	}
	if it.trigger == ua.DataChangeTriggerStatus {
		return false
	}
	var a, b any
	if last.Value != nil {
		a = last.Value.Value()
	}
	if dv.Value != nil {
		b = dv.Value.Value()
	}
	if it.deadband > 0 {
		if exceeds(a, b, it.deadband) {
			return true
		}
	} else if !reflect.DeepEqual(a, b) {
		return true
	}
	return it.trigger == ua.DataChangeTriggerStatusValueTimestamp && !last.SourceTimestamp.Equal(dv.SourceTimestamp)
}

// exceeds says whether any element of b differs from a by more than deadband.
func exceeds(a, b any, deadband float64) bool {
	av, bv := floats(a), floats(b)
	if av == nil || bv == nil || len(av) != len(bv) {
		return !reflect.DeepEqual(a, b)
	}
	for i := range av {
		if math.Abs(av[i]-bv[i]) > deadband {
			return true
		}
	}
	return false
}

func floats(v any) []float64 {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil
	}
	one := func(x reflect.Value) (float64, bool) {
		switch x.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return float64(x.Int()), true
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return float64(x.Uint()), true
		case reflect.Float32, reflect.Float64:
			return x.Float(), true
		}
		return 0, false
	}
	if rv.Kind() == reflect.Slice {
		out := make([]float64, rv.Len())
		for i := range out {
			f, ok := one(rv.Index(i))
			if !ok {
				return nil
			}
			out[i] = f
		}
		return out
	}
	if f, ok := one(rv); ok {
		return []float64{f}
	}
	return nil
}

// enqueue adds dv to the item queue, discarding per DiscardOldest when it is full and
// flagging the overflow in the value's status (only for queues longer than one).
func (sub *subscription) enqueue(it *monitoredItem, dv *ua.DataValue) {
	reporting := it.mode == ua.MonitoringModeReporting
	if uint32(len(it.queue)) >= it.queueSize {
		sub.srv.m.overflows.Inc()
		if reporting {
			sub.queued--
		}
		if it.discardOld {
			it.queue = it.queue[1:]
			if it.queueSize > 1 && len(it.queue) > 0 {
				it.queue[0] = overflowed(it.queue[0])
			}
		} else {
			it.queue = it.queue[:len(it.queue)-1]
			if it.queueSize > 1 {
				dv = overflowed(dv)
			}
		}
	}
	it.queue = append(it.queue, dv)
	if reporting {
		sub.queued++
	}
}

func overflowed(dv *ua.DataValue) *ua.DataValue {
	out := *dv
	out.Status |= overflowBits
	out.EncodingMask |= ua.DataValueStatusCode
	return &out
}

// drain takes up to maxNotifs queued values of the reporting items. Called with sub.mu held.
func (sub *subscription) drain() []*ua.MonitoredItemNotification {
	limit := sub.queued
	if sub.maxNotifs > 0 {
		limit = min(limit, int(sub.maxNotifs))
	}
	out := make([]*ua.MonitoredItemNotification, 0, limit)
	for _, it := range sub.items {
		if it.mode != ua.MonitoringModeReporting || len(it.queue) == 0 {
			continue
		}
		n := min(len(it.queue), limit-len(out))
		for _, dv := range it.queue[:n] {
			out = append(out, &ua.MonitoredItemNotification{ClientHandle: it.handle, Value: dv})
		}
		it.queue = it.queue[n:]
		sub.queued -= n
		if len(out) == limit {
			break
		}
	}
	return out
}
