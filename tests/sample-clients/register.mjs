// `node --import ./register.mjs`: the hooks of ts-hooks.mjs for the sample's modules.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
