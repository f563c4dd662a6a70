// A node-opcua OPC UA client (an implementation we did not write) that exercises the parts
// of opcplc that make it OPC PLC-compatible beyond reading and subscribing: the Server
// object, browsing (both directions), the OpcPlc/Methods methods, writes, and the special
// nodes. It prints what it saw as one JSON object on a stdout line starting "RESULT ".
// Environment:
//   ENDPOINT   opc.tcp://host:port of an opcplc started with --ut (required)
//   PKI        client PKI directory (default ./pki)
// Exit code 0 on success; on failure the error is printed to stderr and the code is 1.
const {
  AttributeIds, TimestampsToReturn, BrowseDirection, ClientSubscription, ClientMonitoredItem, DataType,
  resolveNodeId, makeResultMask, constructEventFilter,
} = require("node-opcua");
const { run } = require("./opcplc_session");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const plain = (v) => {
  if (v === null || v === undefined) return v;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v, plain);
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "object") {
    if (v.text !== undefined && v.locale !== undefined) return v.text; // LocalizedText
    if (typeof v.toString === "function" && v.constructor && v.constructor.name === "NodeId") return v.toString();
    if (v.constructor && v.constructor.name === "Date") return v.toISOString();
    return JSON.parse(JSON.stringify(v));
  }
  return v;
};

run("edgeframe-interop-services", { server: {}, browse: {}, calls: {}, stepUp: {}, fast: {}, writes: {}, special: {}, args: {} }, async (session, ns, out) => {
  const id = (name) => `ns=${ns};s=${name}`;
  const read = async (nodeId, attributeId = AttributeIds.Value) => {
    const dv = await session.read({ nodeId, attributeId });
    return { status: dv.statusCode.name, dataType: DataType[dv.value.dataType], value: plain(dv.value.value) };
  };

  // The Server object's mandatory variables and ServerCapabilities.
  for (const [name, nid] of Object.entries({
    ServerArray: "i=2254", NamespaceArray: "i=2255", ServerStatus: "i=2256", State: "i=2259", ServiceLevel: "i=2267",
    Auditing: "i=2994", ServerProfileArray: "i=2269", LocaleIdArray: "i=2271", MinSupportedSampleRate: "i=2272",
    MaxBrowseContinuationPoints: "i=2735", MaxQueryContinuationPoints: "i=2736", MaxHistoryContinuationPoints: "i=2737",
    SoftwareCertificates: "i=3704", MaxArrayLength: "i=11702", MaxStringLength: "i=11703", MaxByteStringLength: "i=12911",
    MaxNodesPerRead: "i=11705", MaxNodesPerMethodCall: "i=11709", EnabledFlag: "i=2294", ServerDiagnosticsSummary: "i=2275",
    RedundancySupport: "i=3709", BuildInfo: "i=2260", ProductName: "i=2261",
  })) {
    out.server[name] = await read(nid);
  }

  // IndexRange: one element of the namespace array, and a range on a scalar.
  const ranged = await session.read({ nodeId: "i=2255", attributeId: AttributeIds.Value, indexRange: "2" });
  const scalar = await session.read({ nodeId: id("StepUp"), attributeId: AttributeIds.Value, indexRange: "0" });
  out.indexRange = { element: plain(ranged.value.value), status: ranged.statusCode.name, scalar: scalar.statusCode.name };

  // Browse in both directions, every reference type.
  const browse = async (nodeId) => {
    const br = await session.browse({
      nodeId, browseDirection: BrowseDirection.Both, referenceTypeId: null, includeSubtypes: true,
      nodeClassMask: 0, resultMask: makeResultMask("ReferenceType | IsForward | BrowseName | DisplayName | NodeClass | TypeDefinition"),
    });
    return {
      status: br.statusCode.name,
      refs: (br.references || []).map((r) => ({
        type: r.referenceTypeId.toString(), forward: r.isForward, target: r.nodeId.toString(),
        name: r.browseName.name, nsIndex: r.browseName.namespaceIndex, nodeClass: r.nodeClass,
      })),
    };
  };
  const start = ["i=2253", "i=2268", "i=2256", "i=85", id("OpcPlc"), id("Methods"), id("Basic"), id("StepUp")];
  const seen = new Set();
  const queue = [...start];
  while (queue.length > 0 && seen.size < 60) {
    const nid = resolveNodeId(queue.shift()).toString();
    if (seen.has(nid)) continue;
    seen.add(nid);
    const b = await browse(nid);
    out.browse[nid] = b;
    for (const r of b.refs) {
      if (r.forward && r.type !== "ns=0;i=40" && (nid === "ns=0;i=2253" || nid === "ns=0;i=2268" || r.target.startsWith(`ns=${ns};`))) {
        queue.push(r.target);
      }
    }
  }

  // Methods: the argument definitions node-opcua reads before calling, then the calls.
  const methods = id("Methods");
  const callM = async (name, inputArguments = [], objectId = methods) => {
    const r = await session.call({ objectId, methodId: id(name), inputArguments });
    return r.statusCode.name;
  };
  const args = await session.getArgumentDefinition(id("ResetStepUp"));
  out.args = { inputs: args.inputArguments.length, outputs: args.outputArguments.length };
  const stepUp = async () => (await read(id("StepUp"))).value;
  await sleep(300);
  out.stepUp.before = await stepUp();
  out.calls.StopStepUp = await callM("StopStepUp");
  const held = await stepUp();
  await sleep(500);
  out.stepUp.held = [held, await stepUp()];
  out.calls.ResetStepUp = await callM("ResetStepUp");
  out.stepUp.reset = await stepUp();
  out.calls.StartStepUp = await callM("StartStepUp");
  await sleep(500);
  out.stepUp.restarted = await stepUp();

  const fast = async () => (await read(id("FastUInt1"))).value;
  out.calls.StopUpdateFastNodes = await callM("StopUpdateFastNodes");
  const f = await fast();
  await sleep(500);
  out.fast.held = [f, await fast()];
  out.calls.StartUpdateFastNodes = await callM("StartUpdateFastNodes");
  await sleep(500);
  out.fast.restarted = await fast();
  // SimulatorConfiguration/FastNumberOfUpdates = 0 stops the fast nodes, -1 lets them run.
  const limit = id("FastNumberOfUpdates");
  const writeLimit = async (v) => (await session.write({ nodeId: limit, attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Int32, value: v } } })).name;
  out.fast.limitWrite = await writeLimit(0);
  const l = await fast();
  await sleep(500);
  out.fast.limited = [l, await fast()];
  out.fast.limitRestore = await writeLimit(-1);
  out.fast.limitValue = (await read(limit)).value;
  for (const m of ["StopUpdateSlowNodes", "StartUpdateSlowNodes", "ResetTrend", "ResetPosTrend", "ResetNegTrend"]) {
    out.calls[m] = await callM(m);
  }
  out.calls.withArgument = await callM("ResetStepUp", [{ dataType: DataType.Int32, value: 1 }]);
  out.calls.wrongObject = await callM("ResetStepUp", [], "i=85");
  out.calls.unknownMethod = await callM("NoSuchMethod");

  // Writes: StepUp (seen by a subscriber), and the refusals.
  const sub = ClientSubscription.create(session, {
    requestedPublishingInterval: 100, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 10,
    maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 1,
  });
  const changes = [];
  const mi = ClientMonitoredItem.create(sub, { nodeId: id("StepUp"), attributeId: AttributeIds.Value },
    { samplingInterval: 0, discardOldest: true, queueSize: 10 }, TimestampsToReturn.Both);
  mi.on("changed", (dv) => changes.push(Number(dv.value.value)));
  await sleep(500);
  const write = async (nodeId, dataType, value) =>
    (await session.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType, value } } })).name;
  out.writes.StepUp = await write(id("StepUp"), DataType.UInt32, 1000000);
  await sleep(600);
  out.writes.seenBySubscriber = changes.some((v) => v >= 1000000);
  out.writes.readBack = await stepUp();
  // Server.GetMonitoredItems lists the subscription's one item.
  const gmi = await session.getMonitoredItems(sub.subscriptionId);
  out.getMonitoredItems = { server: Array.from(gmi.serverHandles || []), client: Array.from(gmi.clientHandles || []), itemId: mi.monitoredItemId, clientHandle: mi.monitoringParameters.clientHandle };
  // Events are not simulated: the Server object is no notifier and an event filter is refused.
  out.events = { notifier: (await read("i=2253", AttributeIds.EventNotifier)).value };
  try {
    const ev = await sub.monitor({ nodeId: "i=2253", attributeId: AttributeIds.EventNotifier },
      { queueSize: 10, filter: constructEventFilter(["EventId", "Message"]) }, TimestampsToReturn.Both);
    out.events.monitor = ev.statusCode ? ev.statusCode.name : "Good";
  } catch (e) {
    out.events.monitor = e.message;
  }
  await sub.terminate();
  out.writes.wrongType = await write(id("StepUp"), DataType.Int32, 5);
  out.writes.readOnly = await write(id("RandomSignedInt32"), DataType.Int32, 5);
  out.writes.server = await write("i=2267", DataType.Byte, 1);

  // Special nodes by their identifiers.
  let long = "";
  for (let i = 0; i < 3950; i++) long += String.fromCharCode(65 + (i % 26));
  const special = { LongId: id(long), Opaque: `ns=${ns};b=YWJj`, LongString10kB: id("LongString10kB"), LongString50kB: id("LongString50kB") };
  // The --gn nodes, found by browsing their folder.
  const guids = await session.browse(id("Deterministic GUID"));
  out.guidNodes = (guids.references || []).filter((r) => r.nodeClass === 2).map((r) => r.nodeId.toString());
  if (out.guidNodes.length > 0) special.Guid = out.guidNodes[out.guidNodes.length - 1];
  for (const [name, nid] of Object.entries(special)) {
    const r = await read(nid);
    out.special[name] = { status: r.status, dataType: r.dataType, length: typeof r.value === "string" ? r.value.length : undefined };
    if (r.dataType === "UInt32") {
      out.special[name].write = await write(nid, DataType.UInt32, 4242);
      out.special[name].readBack = (await read(nid)).value;
    }
    out.special[name].displayName = (await read(nid, AttributeIds.DisplayName)).value;
  }
});
