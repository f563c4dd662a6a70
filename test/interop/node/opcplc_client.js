// A node-opcua OPC UA client (an implementation we did not write) that reads, browses and
// subscribes to our opcplc, then prints what it saw as one JSON object on a stdout line starting "RESULT ".
// Environment:
//   ENDPOINT   opc.tcp://host:port (required)
//   MODE       None | Sign | SignAndEncrypt (default None; Basic256Sha256 unless None)
//   USER, PASS user name and password (default anonymous)
//   READ       comma-separated node names to read (default StepUp)
//   BROWSE     folder whose children to list (default Basic)
//   WATCH      comma-separated node names to subscribe to (default none)
//   SAMPLING   sampling and publishing interval in ms (default 100)
//   DURATION   how long to collect changes in ms (default 2000)
//   PKI        client PKI directory (default ./pki)
// Exit code 0 on success; on failure the error is printed to stderr and the code is 1.
const {
  AttributeIds, TimestampsToReturn, ClientSubscription, ClientMonitoredItem, DataType,
} = require("node-opcua");
const { run, env } = require("./opcplc_session");

const list = (s) => (s ? s.split(",").filter(Boolean) : []);
const sampling = parseInt(env("SAMPLING", "100"), 10);
const duration = parseInt(env("DURATION", "2000"), 10);

run("edgeframe-interop-client", { read: {}, browse: [], changes: {} }, async (session, ns, out) => {
  const id = (name) => `ns=${ns};s=${name}`;

  for (const name of list(env("READ", "StepUp"))) {
    const dv = await session.read({ nodeId: id(name), attributeId: AttributeIds.Value });
    const v = dv.value.value;
    out.read[name] = {
      status: dv.statusCode.name,
      dataType: DataType[dv.value.dataType],
      value: Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v) : v,
      sourceTimestamp: dv.sourceTimestamp,
    };
  }

  const br = await session.browse(id(env("BROWSE", "Basic")));
  if (br.statusCode.name !== "Good") throw new Error(`browse: ${br.statusCode.name}`);
  out.browse = br.references.map((r) => r.browseName.name).sort();

  const watch = list(env("WATCH", ""));
  if (watch.length > 0) {
    const sub = ClientSubscription.create(session, {
      requestedPublishingInterval: sampling, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 1,
    });
    for (const name of watch) {
      out.changes[name] = [];
      const mi = ClientMonitoredItem.create(sub, { nodeId: id(name), attributeId: AttributeIds.Value },
        { samplingInterval: sampling, discardOldest: true, queueSize: 10 }, TimestampsToReturn.Both);
      mi.on("changed", (dv) => out.changes[name].push(Number(dv.value.value)));
      mi.on("err", (e) => { out.error = `monitor ${name}: ${e}`; });
    }
    await new Promise((r) => setTimeout(r, duration));
    await sub.terminate();
  }
});
