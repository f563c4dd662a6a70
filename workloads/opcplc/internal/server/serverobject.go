package server

import (
	"runtime/debug"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// ServerProfile is the profile opcplc claims in ServerCapabilities.ServerProfileArray:
// sessions, Read/Write/Browse/Call and data-change subscriptions, no events or history.
const ServerProfile = "http://opcfoundation.org/UA-Profile/Server/MicroEmbeddedDevice2017"

// provideServerObject gives every variable of the Server object (i=2253) its value:
// the mandatory ServerArray, NamespaceArray, ServerStatus, ServiceLevel, Auditing,
// ServerCapabilities and ServerDiagnostics, and the optional ones the node set carries.
func (s *Server) provideServerObject() {
	static := func(v any) func() *ua.DataValue { return func() *ua.DataValue { return goodValue(v) } }
	version := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	build := &ua.BuildInfo{ProductURI: "urn:edgeframe:opcplc", ManufacturerName: "edgeframe", ProductName: "edgeframe opcplc",
		SoftwareVersion: version, BuildNumber: version, BuildDate: s.start}
	status := func() *ua.ServerStatusDataType {
		return &ua.ServerStatusDataType{StartTime: s.start, CurrentTime: time.Now(), State: s.state(), BuildInfo: build,
			SecondsTillShutdown: 0, ShutdownReason: &ua.LocalizedText{}}
	}
	_, offset := time.Now().Zone()
	u32 := func(n int) func() *ua.DataValue { return static(uint32(max(n, 0))) }
	values := map[uint32]func() *ua.DataValue{
		id.Server_ServerArray:                             static([]string{s.ident.AppURI}),
		id.Server_NamespaceArray:                          static(s.nsURI),
		id.Server_URIsVersion:                             static(uint32(0)),
		id.Server_ServerStatus:                            func() *ua.DataValue { return goodValue(ua.NewExtensionObject(status())) },
		id.Server_ServerStatus_StartTime:                  static(s.start),
		id.Server_ServerStatus_CurrentTime:                func() *ua.DataValue { return goodValue(time.Now()) },
		id.Server_ServerStatus_State:                      func() *ua.DataValue { return goodValue(int32(s.state())) },
		id.Server_ServerStatus_BuildInfo:                  static(ua.NewExtensionObject(build)),
		id.Server_ServerStatus_BuildInfo_ProductURI:       static(build.ProductURI),
		id.Server_ServerStatus_BuildInfo_ManufacturerName: static(build.ManufacturerName),
		id.Server_ServerStatus_BuildInfo_ProductName:      static(build.ProductName),
		id.Server_ServerStatus_BuildInfo_SoftwareVersion:  static(build.SoftwareVersion),
		id.Server_ServerStatus_BuildInfo_BuildNumber:      static(build.BuildNumber),
		id.Server_ServerStatus_BuildInfo_BuildDate:        static(build.BuildDate),
		id.Server_ServerStatus_SecondsTillShutdown:        static(uint32(0)),
		id.Server_ServerStatus_ShutdownReason:             static(&ua.LocalizedText{}),
		id.Server_ServiceLevel: func() *ua.DataValue {
			if s.state() == ua.ServerStateRunning {
				return goodValue(byte(255))
			}
			return goodValue(byte(0))
		},
		id.Server_Auditing:            static(false),
		id.Server_EstimatedReturnTime: static(time.Time{}),
		id.Server_LocalTime:           static(ua.NewExtensionObject(&ua.TimeZoneDataType{Offset: int16(offset / 60)})),

		id.Server_ServerCapabilities_ServerProfileArray:               static([]string{ServerProfile}),
		id.Server_ServerCapabilities_LocaleIDArray:                    static([]string{"en"}),
		id.Server_ServerCapabilities_MinSupportedSampleRate:           static(float64(s.cfg.MinSampling) / float64(time.Millisecond)),
		id.Server_ServerCapabilities_MaxBrowseContinuationPoints:      static(uint16(0)),
		id.Server_ServerCapabilities_MaxQueryContinuationPoints:       static(uint16(0)),
		id.Server_ServerCapabilities_MaxHistoryContinuationPoints:     static(uint16(0)),
		id.Server_ServerCapabilities_SoftwareCertificates:             static([]*ua.ExtensionObject{}),
		id.Server_ServerCapabilities_MaxArrayLength:                   static(uint32(0)),
		id.Server_ServerCapabilities_MaxStringLength:                  static(uint32(0)),
		id.Server_ServerCapabilities_MaxByteStringLength:              static(uint32(0)),
		id.Server_ServerCapabilities_MaxSessions:                      u32(s.cfg.MaxSessions),
		id.Server_ServerCapabilities_MaxSubscriptions:                 u32(s.cfg.MaxSubscriptions),
		id.Server_ServerCapabilities_MaxMonitoredItems:                static(uint32(0)),
		id.Server_ServerCapabilities_MaxSubscriptionsPerSession:       static(uint32(0)),
		id.Server_ServerCapabilities_MaxMonitoredItemsPerSubscription: static(uint32(0)),
		id.Server_ServerCapabilities_MaxSelectClauseParameters:        static(uint32(0)),
		id.Server_ServerCapabilities_MaxWhereClauseParameters:         static(uint32(0)),
		id.Server_ServerCapabilities_MaxMonitoredItemsQueueSize:       u32(maxQueueSize),
		id.Server_ServerCapabilities_ConformanceUnits:                 static([]*ua.QualifiedName{}),

		id.Server_ServerDiagnostics_EnabledFlag:                                                static(false),
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary:                                   func() *ua.DataValue { return goodValue(ua.NewExtensionObject(s.diagnostics())) },
		id.Server_ServerDiagnostics_SamplingIntervalDiagnosticsArray:                           static([]*ua.ExtensionObject{}),
		id.Server_ServerDiagnostics_SubscriptionDiagnosticsArray:                               static([]*ua.ExtensionObject{}),
		id.Server_ServerDiagnostics_SessionsDiagnosticsSummary_SessionDiagnosticsArray:         static([]*ua.ExtensionObject{}),
		id.Server_ServerDiagnostics_SessionsDiagnosticsSummary_SessionSecurityDiagnosticsArray: static([]*ua.ExtensionObject{}),
		id.Server_ServerRedundancy_RedundancySupport:                                           static(int32(ua.RedundancySupportNone)),
	}
	// OperationLimits: 0 = no limit (none is enforced).
	for _, n := range []uint32{id.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead, id.Server_ServerCapabilities_OperationLimits_MaxNodesPerHistoryReadData,
		id.Server_ServerCapabilities_OperationLimits_MaxNodesPerHistoryReadEvents, id.Server_ServerCapabilities_OperationLimits_MaxNodesPerWrite,
		id.Server_ServerCapabilities_OperationLimits_MaxNodesPerHistoryUpdateData, id.Server_ServerCapabilities_OperationLimits_MaxNodesPerHistoryUpdateEvents,
		id.Server_ServerCapabilities_OperationLimits_MaxNodesPerMethodCall, id.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse,
		id.Server_ServerCapabilities_OperationLimits_MaxNodesPerRegisterNodes, id.Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIDs,
		id.Server_ServerCapabilities_OperationLimits_MaxNodesPerNodeManagement, id.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall} {
		values[n] = static(uint32(0))
	}
	// The summary's counters, one variable each.
	counter := func(get func(*ua.ServerDiagnosticsSummaryDataType) uint32) func() *ua.DataValue {
		return func() *ua.DataValue { return goodValue(get(s.diagnostics())) }
	}
	type sum = ua.ServerDiagnosticsSummaryDataType
	for nid, get := range map[uint32]func(*sum) uint32{
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_ServerViewCount:               func(d *sum) uint32 { return d.ServerViewCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_CurrentSessionCount:           func(d *sum) uint32 { return d.CurrentSessionCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_CumulatedSessionCount:         func(d *sum) uint32 { return d.CumulatedSessionCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_SecurityRejectedSessionCount:  func(d *sum) uint32 { return d.SecurityRejectedSessionCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_RejectedSessionCount:          func(d *sum) uint32 { return d.RejectedSessionCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_SessionTimeoutCount:           func(d *sum) uint32 { return d.SessionTimeoutCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_SessionAbortCount:             func(d *sum) uint32 { return d.SessionAbortCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_PublishingIntervalCount:       func(d *sum) uint32 { return d.PublishingIntervalCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_CurrentSubscriptionCount:      func(d *sum) uint32 { return d.CurrentSubscriptionCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_CumulatedSubscriptionCount:    func(d *sum) uint32 { return d.CumulatedSubscriptionCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_SecurityRejectedRequestsCount: func(d *sum) uint32 { return d.SecurityRejectedRequestsCount },
		id.Server_ServerDiagnostics_ServerDiagnosticsSummary_RejectedRequestsCount:         func(d *sum) uint32 { return d.RejectedRequestsCount },
	} {
		values[nid] = counter(get)
	}
	for nid, fn := range values {
		s.ns0.provide(nid, fn)
	}
}

// diagnostics is the ServerDiagnosticsSummary: diagnostics are not collected
// (EnabledFlag is false), so only the current session and subscription counts are filled.
func (s *Server) diagnostics() *ua.ServerDiagnosticsSummaryDataType {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return &ua.ServerDiagnosticsSummaryDataType{CurrentSessionCount: uint32(s.activeSessions()), CurrentSubscriptionCount: uint32(len(s.subs))}
}
