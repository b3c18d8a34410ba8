import type { Metadata } from "next";
import { PricesView } from "./prices-view";

export const metadata: Metadata = { title: "Prices" };

export default function PricesPage() {
  return <PricesView />;
}
