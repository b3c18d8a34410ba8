/** What an alias may route to, as routing.targets lists it for the tenant. */
export interface TargetOptions {
  models: { name: string; kind: string }[];
  backends: { id: string; name: string; models: string[]; health: string }[];
  aliases: string[];
}

export const noTargets: TargetOptions = { models: [], backends: [], aliases: [] };
