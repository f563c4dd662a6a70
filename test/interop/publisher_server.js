// A node-opcua OPC UA server (namespace http://edgeframe.io/interop/) for opcpublisher's interop and session tests: an
// implementation we did not write. Environment:
//   PORT     listen port on 127.0.0.1 (required)
//   NODES    number of Int32 counters ns=2;s=Fast1..FastN (default 3), each +1 every RATE ms
//   RATE     change period in ms (default 100)
//   PKI      PKI directory (default ./pki)
// Also: ns=2;s=Temperature (Double, +0.5 per RATE), ns=2;i=1001 (numeric id),
// ns=2;g=09087e75-8e5e-499b-954f-f2a9603db28a (GUID id), ns=2;b=AAECAw== (opaque id),
// all Int32 counters, and ns=2;s=Array (Int32[5]). Users: anonymous, and user1/password.
const path = require("path");
const { OPCUAServer, Variant, DataType, OPCUACertificateManager, nodesets } = require("node-opcua");

(async () => {
  const port = parseInt(process.env.PORT, 10);
  const n = parseInt(process.env.NODES || "3", 10);
  const rate = parseInt(process.env.RATE || "100", 10);
  const pki = process.env.PKI || path.join(process.cwd(), "pki");
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true });
  const server = new OPCUAServer({
    port, hostname: "127.0.0.1", resourcePath: "/UA/edgeframe", allowAnonymous: true,
    serverCertificateManager,
    userManager: { isValidUser: (u, p) => u === "user1" && p === "password" },
    maxConnectionsPerEndpoint: 100,
  });
  await server.initialize();
  const as = server.engine.addressSpace;
  const ns = as.registerNamespace("http://edgeframe.io/interop/");
  const dev = ns.addObject({ organizedBy: as.rootFolder.objects, browseName: "Device" });
  const counters = [];
  const counter = (nodeId, browseName) => {
    const c = { v: 0 };
    counters.push(c);
    ns.addVariable({ componentOf: dev, nodeId, browseName, dataType: "Int32", minimumSamplingInterval: rate,
      value: { get: () => new Variant({ dataType: DataType.Int32, value: c.v }) } });
  };
  for (let i = 1; i <= n; i++) counter(`s=Fast${i}`, `Fast${i}`);
  counter("i=1001", "Numeric");
  counter("g=09087e75-8e5e-499b-954f-f2a9603db28a", "Guid");
  counter("b=AAECAw==", "Opaque");
  let t = 20;
  ns.addVariable({ componentOf: dev, nodeId: "s=Temperature", browseName: "Temperature", dataType: "Double", minimumSamplingInterval: rate,
    value: { get: () => new Variant({ dataType: DataType.Double, value: t }) } });
  // ns=2;s=Array: Int32[5] = [k, k+1, k+2, k+3, k+4], k +1 every RATE ms (for IndexRange).
  let k = 0;
  ns.addVariable({ componentOf: dev, nodeId: "s=Array", browseName: "Array", dataType: "Int32", valueRank: 1, arrayDimensions: [5],
    minimumSamplingInterval: rate,
    value: { get: () => new Variant({ dataType: DataType.Int32, arrayType: 1 /* Array */, value: Int32Array.from([k, k + 1, k + 2, k + 3, k + 4]) }) } });
  setInterval(() => { t += 0.5; k++; for (const c of counters) c.v++; }, rate);
  await server.start();
  console.log("listening", server.getEndpointUrl(), "namespace", ns.namespaceUri);
})().catch((e) => { console.error(e); process.exit(1); });
