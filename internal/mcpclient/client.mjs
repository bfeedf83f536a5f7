// Lists the tools of an MCP server over Streamable HTTP with the official
// TypeScript SDK and calls the ones named on the command line, printing
// one JSON document: {"server", "tools", "calls": [{"name", "isError", "text"}]}.
//
// usage: node client.mjs <endpoint> <bearer or ""> <tool> <json args> [<tool> <json args>...]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [endpoint, token, ...rest] = process.argv.slice(2);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers } });
const client = new Client({ name: "echelon-ts-test", version: "1.0.0" });
await client.connect(transport);

const out = { server: client.getServerVersion()?.name, tools: [], calls: [] };
out.tools = (await client.listTools()).tools.map((t) => t.name);
for (let i = 0; i + 1 < rest.length; i += 2) {
  const res = await client.callTool({ name: rest[i], arguments: JSON.parse(rest[i + 1]) });
  out.calls.push({
    name: rest[i],
    isError: res.isError === true,
    text: res.content.filter((c) => c.type === "text").map((c) => c.text).join(""),
  });
}
await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
