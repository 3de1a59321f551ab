import type { Kernel, Module } from '../module.ts';
import { module } from '../module.ts';
import type { SimNetwork } from './network.ts';
import { startSimulation, type SimulationDeps } from './assemble.ts';

/**
 * The simulated operator, in two parts: `run` starts it before the collectors (they poll its
 * agents) and quiets its storyline and telemetry when the collectors have stopped; `teardown`, first
 * in the order, stops its agents and broker last of all, once everything has drained.
 */
export function simModules(k: Kernel, sim: SimNetwork, d: Omit<SimulationDeps, 'store' | 'topology' | 'told' | 'logger'>) {
  let simulation: { quiet(): Promise<void>; stop(): Promise<void> } | undefined;
  const run: Module = module('sim', 'every', async () => {
    simulation = await startSimulation(k.config, sim, {
      ...d, store: k.store(), topology: () => k.topology(),
      told: (line, at) => k.events.publish({ type: 'story', data: { line, at } }), logger: k.log.child({ component: 'sim' }),
    });
    sim.fleet.start((batch) => k.pipeline.emit(batch));
    if (sim.fleet.size > 0) k.log.info({ elements: sim.fleet.size }, 'simulated fleet reporting');
  }, async () => {
    sim.fleet.stop();
    await simulation?.quiet();
  });
  const teardown: Module = module('sim-teardown', 'every', async () => {}, async () => simulation?.stop());
  return { run, teardown };
}
