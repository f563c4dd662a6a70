// Shared by the node-opcua clients of opcplc: connects to ENDPOINT (MODE None | Sign |
// SignAndEncrypt, Basic256Sha256 unless None; USER/PASS or anonymous; client PKI in PKI),
// finds the OPC PLC namespace, runs body(session, ns, out) and prints out as one JSON
// object on a stdout line starting "RESULT ". On failure the error goes to stderr and the
// exit code is 1.
const path = require("path");
const {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, UserTokenType, OPCUACertificateManager,
} = require("node-opcua");

const NS = "http://microsoft.com/Opc/OpcPlc/";
const env = (k, d) => (process.env[k] === undefined || process.env[k] === "" ? d : process.env[k]);

function run(applicationName, out, body) {
  (async () => {
    const mode = env("MODE", "None");
    const client = OPCUAClient.create({
      applicationName,
      securityMode: MessageSecurityMode[mode],
      securityPolicy: mode === "None" ? SecurityPolicy.None : SecurityPolicy.Basic256Sha256,
      endpointMustExist: false,
      connectionStrategy: { maxRetry: 2, initialDelay: 200, maxDelay: 1000 },
      clientCertificateManager: new OPCUACertificateManager({
        rootFolder: env("PKI", path.join(process.cwd(), "pki")), automaticallyAcceptUnknownCertificate: true,
      }),
    });
    await client.connect(env("ENDPOINT"));
    try {
      const user = env("USER", "");
      const session = await client.createSession(user
        ? { type: UserTokenType.UserName, userName: user, password: env("PASS", "") }
        : { type: UserTokenType.Anonymous });
      try {
        const nsArray = await session.readNamespaceArray();
        const ns = nsArray.indexOf(NS);
        if (ns < 0) throw new Error(`namespace ${NS} not in ${JSON.stringify(nsArray)}`);
        out.namespaceIndex = ns;
        out.namespaceArray = nsArray;
        await body(session, ns, out);
      } finally {
        await session.close();
      }
    } finally {
      await client.disconnect();
    }
    // Exit once the line is written: node-opcua leaves timers and watchers behind that
    // would keep the process alive for seconds.
    process.stdout.write("RESULT " + JSON.stringify(out) + "\n", () => process.exit(0));
  })().catch((err) => {
    process.stderr.write(`node-opcua client failed: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  });
}

module.exports = { run, env };
