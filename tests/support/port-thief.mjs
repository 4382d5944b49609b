// Preloaded (node --import) into a process under test: every TCP port it listened on and then
// closed is taken at once by another listener, as any other process on a busy machine (a test's
// server, an outgoing connection's local port) may take it before the port's next user binds it.
// A process that hands a port it picked and released to a server starting later fails with it.
import net from "node:net";

const close = net.Server.prototype.close;
net.Server.prototype.close = function closeAndTake(...args) {
  const address = this.address();
  if (address !== null && typeof address === "object")
    this.once("close", () => {
      const thief = net.createServer();
      thief.on("error", () => {});
      thief.listen(address.port, address.address);
      thief.unref();
    });
  return close.apply(this, args);
};
