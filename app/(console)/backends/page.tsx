import type { Metadata } from "next";
import { BackendsView } from "./backends-view";

export const metadata: Metadata = { title: "Backends" };

export default function BackendsPage() {
  return <BackendsView />;
}
