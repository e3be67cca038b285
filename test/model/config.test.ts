import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.js';
import { readGenerationDefaults, readModelConfig } from '../../src/model/config.js';
import { fixturesDir, haveFixtures, tempDir, writeFile } from './helpers.js';

describe('readModelConfig', () => {
  it.skipIf(!haveFixtures)('reads the fixtures without interpreting family fields', () => {
    const g = readModelConfig(path.join(fixturesDir, 'gpt2-tiny'));
    expect(g.config.model_type).toBe('gpt2');
    expect(g.config.n_layer).toBe(3);
    expect(g.bytes.length).toBe(591);
    expect(readModelConfig(path.join(fixturesDir, 'llama-stories260K')).config.rope_theta).toBe(10000);
  });

  it('missing config.json: says a Hugging Face model folder is expected', () => {
    const dir = tempDir();
    expect(() => readModelConfig(dir)).toThrow(ModelFormatError);
    expect(() => readModelConfig(dir)).toThrow(new RegExp(`${dir}: no config.json \\(expected a Hugging Face model folder`));
  });

  it.each([
    ['not JSON', '{"model_type": "gpt2",', /not valid JSON/],
    ['an array', '[1]', /expected a JSON object/],
    ['without model_type', '{"n_layer": 2}', /expected a string "model_type".*got none/],
    ['with a numeric model_type', '{"model_type": 3}', /got 3/],
  ])('config.json %s → ModelFormatError naming it', (_, text, pattern) => {
    const dir = tempDir();
    const file = writeFile(dir, 'config.json', text);
    expect(() => readModelConfig(dir)).toThrow(pattern);
    expect(() => readModelConfig(dir)).toThrow(file);
  });
});

describe('readGenerationDefaults', () => {
  it('takes ids from config.json when there is no generation_config.json', () => {
    const dir = tempDir();
    const config = { model_type: 'llama', bos_token_id: 1, eos_token_id: 2 };
    expect(readGenerationDefaults(dir, config)).toEqual({ bosTokenId: 1, eosTokenIds: [2], padTokenId: null });
  });

  it('prefers generation_config.json field by field, and accepts a list of eos ids', () => {
    const dir = tempDir();
    writeFile(dir, 'generation_config.json', JSON.stringify({ eos_token_id: [128001, 128009, 128001], pad_token_id: null }));
    const config = { model_type: 'llama', bos_token_id: 128000, eos_token_id: 128001, pad_token_id: 0 };
    expect(readGenerationDefaults(dir, config)).toEqual({ bosTokenId: 128000, eosTokenIds: [128001, 128009], padTokenId: 0 });
  });

  it('has no ids when neither file sets them', () => {
    expect(readGenerationDefaults(tempDir(), { model_type: 'x' })).toEqual({ bosTokenId: null, eosTokenIds: [], padTokenId: null });
  });

  it('refuses a bad id or a corrupt generation_config.json, naming the file', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'generation_config.json', JSON.stringify({ bos_token_id: 'one' }));
    expect(() => readGenerationDefaults(dir, { model_type: 'x' })).toThrow(`${file}: "bos_token_id" must be a non-negative integer`);
    writeFile(dir, 'generation_config.json', '{');
    expect(() => readGenerationDefaults(dir, { model_type: 'x' })).toThrow(`${file}: not valid JSON`);
  });
});
