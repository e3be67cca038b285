/**
 * Wires the datasets that ship with interp into the techniques' registries, once, before any
 * command runs: TinyWorld's named datasets, its SAE token labelers and its steering behaviour.
 * A second dataset is one more line here and a providers module of its own.
 */
import { registerDatasetProvider } from '../dataset/providers.js';
import { registerTokenLabelers } from '../../sae/index.js';
import { registerBehavior } from '../../steering/index.js';
import { tinyworldBehaviors, tinyworldDatasets, tinyworldLabelers } from '../../datasets/tinyworld/providers.js';

export function registerProviders(): void {
  registerDatasetProvider(tinyworldDatasets);
  registerTokenLabelers(tinyworldLabelers);
  registerBehavior(tinyworldBehaviors);
}
