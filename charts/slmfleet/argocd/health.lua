-- Argo CD health of a SmallModel, ModelRoute or GPUClass, from its kstatus conditions
-- (docs/gitops.md): a generation not observed yet is Progressing; Stalled is Degraded; a held
-- step or spec.paused is Suspended; any other Reconciling is Progressing; Ready is Healthy.
local function condition(kind)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end
local function health(status, message)
  return { status = status, message = message }
end
local function said(c)
  return c.reason .. ": " .. (c.message or "")
end
if obj.status == nil or obj.status.observedGeneration == nil then
  return health("Progressing", "Waiting for the operator to observe the object")
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  return health("Progressing", "Waiting for the operator to observe generation " .. obj.metadata.generation)
end
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  return health("Degraded", said(stalled))
end
local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  if reconciling.reason == "Paused" or reconciling.reason == "StepHeld" then
    return health("Suspended", said(reconciling))
  end
  return health("Progressing", said(reconciling))
end
local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  return health("Healthy", said(ready))
end
if ready ~= nil then
  return health("Progressing", said(ready))
end
return health("Progressing", "Waiting for the Ready condition")
