import { describe, expect, it } from "vitest";
import { tenantTables } from "./tenant-tables";

describe("tenant-owned tables, from prisma/schema.prisma", () => {
  it("are every model with a tenantId, with its delegate and id column", () => {
    const tables = tenantTables();
    expect(tables.map((t) => t.model)).toEqual(
      expect.arrayContaining(["Membership", "ApiKey", "ModelGrant", "BackendGrant", "RoutingPolicy", "RoutingPolicyVersion", "RequestLog", "StoredResponse", "LogPolicy", "RequestBody", "UsageRollup", "AuditLog"]),
    );
    expect(tables.map((t) => t.model)).not.toEqual(expect.arrayContaining(["Tenant"]));
    expect(tables.find((t) => t.model === "LogPolicy")).toEqual({ model: "LogPolicy", delegate: "logPolicy", idField: "tenantId" });
    expect(tables.find((t) => t.model === "RoutingPolicy")).toEqual({ model: "RoutingPolicy", delegate: "routingPolicy", idField: "id" });
  });

  it("picks up a table added to the schema", () => {
    const schema = "model Widget {\n  id       String @id\n  tenantId String\n  @@index([tenantId])\n}\n\nmodel Global {\n  id String @id\n}\n";
    expect(tenantTables(schema)).toEqual([{ model: "Widget", delegate: "widget", idField: "id" }]);
  });
});
